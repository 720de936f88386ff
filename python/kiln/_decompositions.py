"""Lowering to core ATen: torch's core decomposition table minus the ops kiln runs better whole.

The table is data: ``KEEP`` lists the overloads that stay intact because kiln has a converter for
them that maps to one IR op (linear, matmul, softmax, the norms, attention, upsampling, ...).
Everything else decomposes to core ATen as torch.export's default table says.
"""

from __future__ import annotations

import functools

import torch

KEEP = (
    "aten.linear.default",
    "aten.matmul.default",
    "aten.conv1d.default",
    "aten.conv2d.default",
    "aten.conv3d.default",
    "aten.conv_transpose1d.input",
    "aten.conv_transpose2d.input",
    "aten.conv_transpose3d.input",
    "aten.layer_norm.default",
    "aten.group_norm.default",
    "aten.rms_norm.default",
    "aten.batch_norm.default",
    "aten.softmax.int",
    "aten.log_softmax.int",
    "aten.scaled_dot_product_attention.default",
    "aten.upsample_nearest2d.vec",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_nearest1d.vec",
    "aten.upsample_nearest3d.vec",
    "aten.pad.default",
    "aten.reflection_pad1d.default",
    "aten.reflection_pad2d.default",
    "aten.reflection_pad3d.default",
    "aten.replication_pad1d.default",
    "aten.replication_pad2d.default",
    "aten.replication_pad3d.default",
    "aten.gelu.default",
    "aten.silu.default",
    "aten.mish.default",
    "aten.hardswish.default",
    "aten.hardsigmoid.default",
    "aten.hardtanh.default",
    "aten.elu.default",
    "aten.leaky_relu.default",
    "aten.softplus.default",
    "aten.adaptive_avg_pool2d.default",
    "aten.adaptive_avg_pool1d.default",
    "aten.flatten.using_ints",
    "aten.stack.default",
    "aten.chunk.default",
    "aten.repeat.default",
    "aten.roll.default",
    "aten.embedding.default",
    "aten.var.correction",
    "aten.std.correction",
    "aten.tril.default",
    "aten.triu.default",
)


def _overload(name: str) -> torch._ops.OpOverload | None:
    ns, op, overload = name.split(".")
    try:
        return getattr(getattr(getattr(torch.ops, ns), op), overload)
    except AttributeError:  # an op this torch does not have
        return None


@functools.cache
def _kept() -> tuple:
    return tuple(o for o in (_overload(n) for n in KEEP) if o is not None)


def decomposition_table() -> dict:
    """The table for ``ExportedProgram.run_decompositions``."""
    table = torch.export.default_decompositions()
    for op in _kept():
        if op in table:
            del table[op]
    return table
