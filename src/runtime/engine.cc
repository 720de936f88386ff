// Engine: an immutable, loaded engine. Loading reads the file (engine_file.h), checks the graph,
// and resolves every node's kernel name against this build's kernel registry, so that a loaded
// Engine can always run (an unknown kernel, a kernel for another device or op, or a CUDA engine on
// a build without CUDA is refused here, not at the first run).
//
// CUDA engines also keep one device copy of their constants per device (device_constants),
// uploaded on first use by cuda_runtime.cc.
//
// Deliberately not here: anything per call (shapes, memory, execution): see execution_context.cc.
#include <algorithm>
#include <utility>

#include "internal.h"
#include "kiln/ir/verifier.h"
#include "kiln/runtime.h"

namespace kiln {
namespace {

std::string node_context(const Graph& g, size_t i) { return runtime_node_context(g, i); }

// "[batch, 3, 224, 224] with batch in [1, 32]" (the range part only for symbolic shapes).
std::string io_shape_text(const Graph& g, const Shape& shape) {
  std::vector<int32_t> symbols;
  for (const DimExpr& d : shape) {
    for (int32_t s : d.symbols()) symbols.push_back(s);
  }
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  std::string out = g.shape_text(shape);
  for (size_t i = 0; i < symbols.size(); ++i) {
    out += i == 0 ? " with " : ", ";
    const int32_t s = symbols[i];
    if (s >= 0 && static_cast<size_t>(s) < g.symbols.size()) {
      out += str_cat(g.symbols[s].name, " in [", g.symbols[s].min, ", ", g.symbols[s].max, "]");
    } else {
      out += str_cat(g.symbol_name(s), " (undeclared)");
    }
  }
  return out;
}

}  // namespace

Expected<std::shared_ptr<const Engine>> Engine::from_bytes(std::span<const uint8_t> bytes) {
  auto owner = std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  KILN_ASSIGN_OR_RETURN(EngineContents contents, read_engine(std::move(owner)));
  return from_contents(std::move(contents));
}

Expected<std::shared_ptr<const Engine>> Engine::from_file(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file_bytes(path));
  auto owner = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  Expected<EngineContents> contents = read_engine(std::move(owner));
  if (!contents.ok()) return contents.status().with_context(path);
  Expected<std::shared_ptr<const Engine>> engine = from_contents(std::move(contents).value());
  if (!engine.ok()) return engine.status().with_context(path);
  return engine;
}

Expected<std::shared_ptr<const Engine>> Engine::from_contents(EngineContents contents) {
  // 1. The device must exist in this build.
  if (contents.device == DeviceKind::kCuda && !KILN_HAVE_CUDA) {
    return unsupported("engine was built for cuda but this kiln has no CUDA backend");
  }
  if (contents.device != DeviceKind::kCpu && contents.device != DeviceKind::kCuda) {
    return unsupported("engine is for an unknown device (#", static_cast<int>(contents.device),
                       ")");
  }
  // 2. The graph must be well formed: everything below indexes it without further checks.
  const Graph& g = contents.graph;
  KILN_RETURN_IF_ERROR(verify_graph(g));
  if (contents.kernels.size() != g.nodes.size()) {
    return invalid_argument("engine has ", g.nodes.size(), " nodes but ", contents.kernels.size(),
                            " kernel choices");
  }
  // 3. Every node's kernel must be in this build, for the node's op and the engine's device, and
  //    must accept the node.
  std::vector<const Kernel*> kernels;
  kernels.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const std::string& name = contents.kernels[i];
    const Kernel* k = find_kernel(name);
    if (k == nullptr) {
      return not_found(node_context(g, i), ": kernel '", name, "' is not in this build of kiln");
    }
    if (k->op != n.op) {
      return invalid_argument(node_context(g, i), ": kernel '", name, "' runs ", op_name(k->op),
                              ", not ", op_name(n.op));
    }
    if (k->device != contents.device) {
      return invalid_argument(node_context(g, i), ": kernel '", name, "' is a ",
                              device_name(k->device), " kernel but the engine is for ",
                              device_name(contents.device));
    }
    std::vector<TensorType> input_types;
    for (ValueId v : n.inputs) input_types.push_back(v == kNoValue ? TensorType{} : g.type(v));
    std::string why;
    if (!k->accepts(n, input_types, &why)) {
      return invalid_argument(node_context(g, i), ": kernel '", name, "' does not accept it: ",
                              why);
    }
    kernels.push_back(k);
  }
  std::shared_ptr<Engine> engine(new Engine());
  engine->contents_ = std::move(contents);
  engine->kernels_ = std::move(kernels);
  return std::shared_ptr<const Engine>(std::move(engine));
}

std::vector<IOInfo> Engine::inputs() const {
  const Graph& g = graph();
  std::vector<IOInfo> out;
  for (ValueId v : g.inputs) {
    const TensorType& t = g.type(v);
    out.push_back(IOInfo{g.values[v].name, t.dtype, t.shape, io_shape_text(g, t.shape)});
  }
  return out;
}

std::vector<IOInfo> Engine::outputs() const {
  const Graph& g = graph();
  std::vector<IOInfo> out;
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const ValueId v = g.outputs[i];
    const TensorType& t = g.type(v);
    std::string name = g.values[v].name.empty() ? str_cat("output", i) : g.values[v].name;
    out.push_back(IOInfo{std::move(name), t.dtype, t.shape, io_shape_text(g, t.shape)});
  }
  return out;
}

int64_t Engine::weight_bytes() const {
  int64_t total = 0;
  for (const Node& n : graph().nodes) {
    if (n.op == OpKind::kConstant) {
      total += static_cast<int64_t>(n.attrs_as<ConstantAttrs>().data.size);
    }
  }
  return total;
}

std::string_view Engine::metadata(std::string_view key) const {
  for (const auto& [k, v] : contents_.metadata) {
    if (k == key) return v;
  }
  return {};
}

Engine::~Engine() = default;

std::vector<int64_t> runtime_constant_offsets(const Graph& g, int64_t& total) {
  std::vector<int64_t> offsets(g.nodes.size(), -1);
  total = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != OpKind::kConstant) continue;
    offsets[i] = total;
    const auto size = static_cast<int64_t>(g.nodes[i].attrs_as<ConstantAttrs>().data.size);
    total += (size + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  }
  return offsets;
}

int64_t Engine::device_constant_bytes() const {
  int64_t total = 0;
  runtime_constant_offsets(graph(), total);
  return total;
}

Expected<std::span<void* const>> Engine::device_constants(int device) const {
  if (contents_.device != DeviceKind::kCuda) {
    return invalid_argument("engine is for ", device_name(contents_.device),
                            ": its constants stay in host memory");
  }
  std::lock_guard<std::mutex> lock(device_weights_mutex_);
  auto it = device_weights_.find(device);
  if (it == device_weights_.end()) {
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<DeviceWeights> weights,
                          upload_constants(graph(), device, nullptr, nullptr));
    it = device_weights_.emplace(device, std::move(weights)).first;
  }
  return std::span<void* const>(it->second->by_node);
}

Status Engine::upload_constants(int device, void* block, int64_t bytes, void* stream) const {
  if (contents_.device != DeviceKind::kCuda) {
    return invalid_argument("engine is for ", device_name(contents_.device),
                            ": its constants stay in host memory");
  }
  const int64_t needed = device_constant_bytes();
  if (bytes < needed) {
    return invalid_argument("the constants of this engine take ", needed,
                            " bytes of device memory; the block has ", bytes);
  }
  if (block == nullptr && needed != 0) {
    return invalid_argument("the constants' block has no data (null pointer)");
  }
  if (reinterpret_cast<uintptr_t>(block) % kArenaAlignment != 0) {
    return invalid_argument("the constants' block must be ", kArenaAlignment, "-byte aligned");
  }
  std::lock_guard<std::mutex> lock(device_weights_mutex_);
  if (device_weights_.count(device) != 0) {
    return invalid_argument("the constants of this engine are already on cuda:", device);
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<DeviceWeights> weights,
                        upload_constants(graph(), device, block, stream));
  device_weights_.emplace(device, std::move(weights));
  return ok_status();
}

#if !KILN_HAVE_CUDA
Engine::DeviceWeights::~DeviceWeights() = default;

Expected<std::unique_ptr<Engine::DeviceWeights>> Engine::upload_constants(const Graph&, int, void*,
                                                                          void*) {
  return unsupported("this kiln has no CUDA backend");
}
#endif

}  // namespace kiln
