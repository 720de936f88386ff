// The default compilation pipeline: every pass the builder runs, in order, one line each. Read this
// file to know what happens to a graph between import and kernel selection. It does not run passes
// (pass_manager.cc does) and has no switches: a pass is disabled with KILN_DISABLE_PASSES.
#include "kiln/passes/pass_manager.h"

namespace kiln {

std::vector<std::string> default_pipeline() {
  return {
      "canonicalize",     // undo importer noise: reshape/permute chains, identity views and casts
      "fold-constants",   // evaluate weight-only subgraphs (transposed weights, masks), not tables
      "cse",              // merge duplicates left by the importer and by folding
      "raise-composites",  // matmul + bias -> linear, tanh-GELU / RMSNorm chains -> one op
      "canonicalize",     // clean up what folding, merging and raising exposed
      "fold-batch-norm",  // conv + batch_norm -> conv (needs the weights folded to constants)
      "dce",              // drop the unfolded convs, so that layout does not rewrite them
      "layout",           // CUDA: NHWC convs, NCHW permutes sunk to where they cancel
      "fold-constants",   // permute the weights layout made channels-last
      "canonicalize",     // cancel the permute pairs that met, unit-dim permutes -> reshapes
      "fold-views",       // views past linears and slices; chains of views -> one permute at most
      "fold-attention-permutes",  // attention reads q, k, v as [B, L, H, E]: no head permutes
      "fold-views",       // the attention output's permute against the ones after it
      "canonicalize",     // drop the identity views left behind
      "fuse-epilogues",   // residual add and activation into conv / linear, after layout has
                          // moved the permutes out from between them
      "dce",              // drop everything the passes above left unused
  };
}

}  // namespace kiln
