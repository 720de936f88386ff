// Every graph pass, one line each with its contract. A pass is a free function that edits a Graph
// in place and returns whether it changed anything; it is named on the command line and in dumps by
// the kebab-case name in its registry entry (pass_manager.h). Each lives in its own file in
// src/passes/ and is tested by tests/ir/passes/<name>.ir.
#pragma once

#include "kiln/ir/graph.h"
#include "kiln/kernels/kernel.h"

namespace kiln {

struct PassOptions {
  // The device the graph will run on: target-specific passes (layout) do nothing on the CPU.
  DeviceKind device = DeviceKind::kCpu;
};

// dce: removes nodes none of whose outputs reach a graph output. Graph inputs stay.
Expected<bool> eliminate_dead_code(Graph& g, const PassOptions& options);
// fold-constants: evaluates nodes whose inputs are all constants (and source ops with static
// shapes) with the reference kernels, replacing them by constants; skips results over 16 MiB and
// results much larger than their inputs (more than 4x and 4 KiB) that feed no attention mask.
Expected<bool> fold_constants(Graph& g, const PassOptions& options);
// cse: merges nodes with the same op, inputs and attributes (constants by content).
Expected<bool> eliminate_common_subexpressions(Graph& g, const PassOptions& options);
// canonicalize: folds reshape->reshape, permute->permute, drops identity reshape/permute/expand/
// slice/cast, turns a permute that moves only size-1 dims into a reshape.
Expected<bool> canonicalize(Graph& g, const PassOptions& options);
// fold-batch-norm: folds batch_norm(conv or conv_transpose) with all-constant parameters into the
// conv's weight and bias, when the conv output has no other use and the conv no epilogue.
Expected<bool> fold_batch_norm(Graph& g, const PassOptions& options);
// fuse-epilogues: fuses a same-shaped residual add into a conv, and a following relu / silu / gelu
// into a conv or linear, when their output has a single use.
Expected<bool> fuse_epilogues(Graph& g, const PassOptions& options);
// layout: on CUDA only, makes 2-d convs channels-last between permutes and sinks the permutes
// back to NCHW through elementwise ops and 2-d pools, so that they cancel between convs.
Expected<bool> layout(Graph& g, const PassOptions& options);
// raise-composites: rewrites decomposed spellings back into one op: matmul with a constant weight
// (and a bias add) -> linear, tanh-GELU chains -> gelu {approximate=tanh}, RMSNorm chains ->
// rms_norm.
Expected<bool> raise_composites(Graph& g, const PassOptions& options);
// fold-views: moves reshapes and permutes past linears (to their outputs) and slices (to after
// them), and turns chains of static reshapes and permutes with several permutes into at most one.
Expected<bool> fold_views(Graph& g, const PassOptions& options);
// fold-attention-permutes: rewrites attention(permute(q), permute(k), permute(v)) with every
// permute [0,2,1,3] of a rank-4 value into permute(attention {bshd=true}(q, k, v), [0,2,1,3]), on
// every device, so that canonicalize can cancel the output permute against its user's.
Expected<bool> fold_attention_permutes(Graph& g, const PassOptions& options);

}  // namespace kiln
