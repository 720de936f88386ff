"""``kiln.fx``: the FX frontend, as ``torch_tensorrt.fx``.

``kiln.fx.compile(module, inputs)`` traces an nn.Module with ``torch.fx.symbolic_trace`` (a
GraphModule is taken as it is) and compiles that GraphModule through the ahead-of-time path: one
converter stack, one partitioner. It returns a GraphModule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.fx


def compile(module: torch.nn.Module, inputs: Sequence[Any] | None = None, *,
            arg_inputs: Sequence[Any] | None = None, kwarg_inputs: dict[str, Any] | None = None,
            **settings: Any) -> torch.fx.GraphModule:
    """Compiles an nn.Module (traced with torch.fx.symbolic_trace) or a GraphModule with kiln."""
    from kiln._compile import compile as kiln_compile

    if not isinstance(module, torch.fx.GraphModule):
        try:
            module = torch.fx.symbolic_trace(module)
        except Exception as e:
            raise RuntimeError(
                f"torch.fx.symbolic_trace could not trace {type(module).__name__}: {e}\n\nkiln "
                "hint: use kiln.compile(module, ir='dynamo') (torch.export), or "
                "torch.compile(module, backend='kiln'), which handle control flow better."
            ) from e
    return kiln_compile(module, "dynamo", inputs, arg_inputs, kwarg_inputs, **settings)
