"""kiln: compile PyTorch models into fast inference engines.

The core (IR, passes, builder, runtime) is C++ in ``kiln._C``; this package holds the thin Python
layer. The torch frontends (``kiln.compile``, ``kiln.dynamo``, the ``"kiln"`` torch.compile backend)
arrive with their issues; for now the package exposes the IR-level API.
"""

from kiln._C import KilnError, has_cuda, op_names
from kiln._C import version as _version
from kiln.engine import Engine, build_engine, format_ir

__version__ = _version()

__all__ = ["Engine", "KilnError", "build_engine", "format_ir", "has_cuda", "op_names"]
