"""kiln: compile PyTorch models into fast inference engines.

The core (importer, partitioner, IR, passes, builder, runtime) is C++ in ``kiln._C``; this package
is the thin Python layer: capture (torch.export), FX -> TorchGraph, the hybrid graph, the
``torch.ops.kiln.execute_engine`` custom op, save/load. Without torch installed, only the IR-level
API (``build_engine``, ``Engine``, ``format_ir``) is available.
"""

from kiln._C import KilnError, has_cuda, op_names
from kiln._C import version as _version
from kiln.engine import Engine, build_engine, format_ir

__version__ = _version()

__all__ = ["Engine", "KilnError", "build_engine", "format_ir", "has_cuda", "op_names"]

try:
    import torch as _torch  # noqa: F401
except ImportError:  # the IR-level API only
    pass
else:
    from kiln import dynamo, fx, runtime, ts
    from kiln._C import converter_targets
    from kiln._compile import compile, convert_method_to_engine, load, save
    from kiln._settings import CompilationSettings, Device, Input
    from kiln.frontends import torch_compile as _torch_compile

    _torch_compile.register()  # torch.compile(model, backend="kiln")

    __all__ += ["CompilationSettings", "Device", "Input", "compile", "convert_method_to_engine",
                "converter_targets", "dynamo", "fx", "load", "runtime", "save", "ts"]
