"""``kiln.dynamo``: the ahead-of-time (torch.export) frontend, as ``torch_tensorrt.dynamo``."""

from kiln._settings import CompilationSettings
from kiln.frontends.dynamo import compile, trace

__all__ = ["CompilationSettings", "compile", "trace"]
