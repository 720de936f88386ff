"""kiln's torch runtime: the ``torch.ops.kiln.execute_engine`` custom op and its engine cache."""

from kiln.runtime._execute_engine import engine_key, register_engine

__all__ = ["engine_key", "register_engine"]
