// The builder: IR graph in, engine out. Runs the pass pipeline, verifies, chooses a kernel for every
// node on the target device from the kernel registry, and serializes.
#pragma once

#include <string>
#include <vector>

#include "kiln/engine/engine_file.h"
#include "kiln/passes/pass_manager.h"

namespace kiln {

struct BuildOptions {
  DeviceKind device = DeviceKind::kCpu;
  PassManagerOptions passes;  // defaults come from pass_manager_options_from_env()
  // Recorded in the engine's metadata ("use_cuda_graphs"): the runtime's default for CUDA engines.
  bool use_cuda_graphs = false;
};

// Fails with Unsupported naming the node if no kernel on the device accepts it.
Expected<EngineContents> build_engine(Graph graph, const BuildOptions& options);

}  // namespace kiln
