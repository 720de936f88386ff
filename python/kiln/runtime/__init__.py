"""kiln's torch runtime: the ``torch.ops.kiln.execute_engine`` custom op and its engine cache."""

from kiln.runtime._execute_engine import (
    engine_key,
    get_cudagraphs_mode,
    memory,
    profile,
    register_engine,
    set_cudagraphs_mode,
)

__all__ = ["engine_key", "get_cudagraphs_mode", "memory", "profile", "register_engine",
           "set_cudagraphs_mode"]
