// ExecutionContext: runs one Engine on caller buffers. Per input-shape signature it binds the shape
// symbols (checking ranks, static dims and ranges, with errors naming the input), infers every
// value's concrete type, and plans the activation arena; the plan is cached. A run points every
// value at its bytes (caller inputs, constant data, or the arena), runs the nodes' kernels in
// order; the tail's outputs are written straight into the caller's buffers, the others are
// computed in the arena and copied there (ExecutionPlan::direct_outputs says which). This file is
// the CPU run and everything shared with the CUDA run (cuda_runtime.cc: device arena, streams, CUDA
// graphs).
//
// Deliberately not done: writing outputs that other nodes read, or that are an input's or a
// constant's bytes, straight into the caller's buffers (copied: simple and always correct),
// poisoning the arena, and any locking: a context belongs to one thread, the Engine it shares is
// immutable.
#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <utility>

#include "internal.h"
#include "kiln/ir/shape_inference.h"
#include "kiln/runtime.h"

namespace kiln {

std::string runtime_node_context(const Graph& g, size_t i) {
  const Node& n = g.nodes[i];
  std::string out = str_cat("node ", i, " (", op_name(n.op));
  if (!n.loc.empty()) out += str_cat(", loc \"", n.loc, "\"");
  return out + ")";
}

std::string runtime_input_name(const Graph& g, size_t i) { return g.values[g.inputs[i]].name; }

std::string runtime_output_name(const Graph& g, size_t i) {
  const std::string& name = g.values[g.outputs[i]].name;
  return name.empty() ? str_cat("output", i) : name;
}

namespace {

std::string concrete_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", shape[i]);
  return out + "]";
}

Expected<ConcreteShape> to_concrete(const Shape& shape) {
  ConcreteShape out;
  out.reserve(shape.size());
  for (const DimExpr& d : shape) {
    if (!d.is_constant()) return internal_error("shape inference left a symbolic dim");
    out.push_back(d.constant_value());
  }
  return out;
}

Shape to_shape(std::span<const int64_t> shape) { return Shape(shape.begin(), shape.end()); }

// Bytes of a tensor of this type, or OutOfRange if that overflows int64.
Expected<int64_t> checked_bytes(ValueId v, const ConcreteShape& shape, DType dtype) {
  int64_t total = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(total, d, &total)) {
      return out_of_range("value ", v, " of shape ", concrete_text(shape), " is too large");
    }
  }
  return total;
}

// Step 1 of a plan: the value of every symbol, from the input shapes.
Expected<std::vector<int64_t>> bind_symbols(const Graph& g,
                                            std::span<const ConcreteShape> inputs) {
  if (inputs.size() != g.inputs.size()) {
    return invalid_argument("engine takes ", g.inputs.size(), " inputs, got ", inputs.size());
  }
  std::vector<int64_t> values(g.symbols.size(), 0);
  std::vector<std::pair<size_t, size_t>> bound_by(g.symbols.size(), {SIZE_MAX, 0});
  // a. Ranks and static dims; each symbol takes its value from the first input dim that is
  //    exactly that symbol.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& expected = g.type(g.inputs[i]).shape;
    const ConcreteShape& got = inputs[i];
    if (got.size() != expected.size()) {
      return invalid_argument("input '", runtime_input_name(g, i), "' must have rank ", expected.size(),
                              ", got ", got.size(), " (", concrete_text(got), ")");
    }
    for (size_t d = 0; d < got.size(); ++d) {
      if (got[d] < 0) {
        return invalid_argument("input '", runtime_input_name(g, i), "' dim ", d, " is negative (",
                                got[d], ")");
      }
      if (expected[d].is_constant()) {
        if (got[d] != expected[d].constant_value()) {
          return invalid_argument("input '", runtime_input_name(g, i), "' dim ", d, " must be ",
                                  expected[d].constant_value(), ", got ", got[d], " (",
                                  concrete_text(got), ")");
        }
        continue;
      }
      std::optional<int32_t> s = expected[d].as_symbol();
      if (s && *s >= 0 && static_cast<size_t>(*s) < values.size() &&
          bound_by[*s].first == SIZE_MAX) {
        values[*s] = got[d];
        bound_by[*s] = {i, d};
      }
    }
  }
  // b. Every symbol bound and within its range.
  for (size_t s = 0; s < g.symbols.size(); ++s) {
    const SymbolInfo& info = g.symbols[s];
    if (bound_by[s].first == SIZE_MAX) {
      return internal_error("symbol '", info.name, "' is not the whole of any input dim");
    }
    if (values[s] < info.min || values[s] > info.max) {
      return out_of_range("input '", runtime_input_name(g, bound_by[s].first), "' dim ", bound_by[s].second,
                          " is ", values[s], " but ", info.name, " must be in [", info.min, ", ",
                          info.max, "]");
    }
  }
  // c. Every dim that is an expression (or a symbol bound by an earlier dim) equals its value.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& expected = g.type(g.inputs[i]).shape;
    for (size_t d = 0; d < expected.size(); ++d) {
      if (expected[d].is_constant()) continue;
      Expected<int64_t> want = expected[d].evaluate(values);
      if (!want.ok()) {
        return invalid_argument("input '", runtime_input_name(g, i), "' dim ", d, " (",
                                g.dim_text(expected[d]), "): ", want.status().message());
      }
      if (*want != inputs[i][d]) {
        std::string source;
        if (std::optional<int32_t> s = expected[d].as_symbol()) {
          source = str_cat(" (from input '", runtime_input_name(g, bound_by[*s].first), "' dim ",
                           bound_by[*s].second, ")");
        }
        return invalid_argument("input '", runtime_input_name(g, i), "' dim ", d, " must be ",
                                g.dim_text(expected[d]), " = ", *want, source, ", got ",
                                inputs[i][d]);
      }
    }
  }
  return values;
}

// Step 2: every value's concrete type, node by node.
Status infer_concrete_types(const Graph& g, std::span<const ConcreteShape> inputs,
                            ExecutionPlan& plan) {
  plan.types.assign(g.values.size(), TensorType{});
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    plan.types[g.inputs[i]] = TensorType{g.type(g.inputs[i]).dtype, to_shape(inputs[i])};
  }
  std::vector<const TensorType*> in;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    in.clear();
    for (ValueId v : n.inputs) in.push_back(v == kNoValue ? nullptr : &plan.types[v]);
    Expected<std::vector<TensorType>> out =
        infer_output_types(n.op, n.attrs, in, &plan.symbol_values);
    if (!out.ok()) return out.status().with_context(runtime_node_context(g, i));
    if (out->size() != n.outputs.size()) {
      return internal_error(runtime_node_context(g, i), ": shape inference gave ", out->size(),
                            " outputs, the graph has ", n.outputs.size());
    }
    for (size_t k = 0; k < out->size(); ++k) {
      const TensorType& symbolic = g.type(n.outputs[k]);
      TensorType& concrete = (*out)[k];
      // The engine's symbolic type, evaluated, must agree with what the kernels will produce:
      // callers (and torch's fake tensors) size outputs from the symbolic type.
      bool agrees = concrete.dtype == symbolic.dtype && concrete.rank() == symbolic.rank();
      for (size_t d = 0; agrees && d < concrete.shape.size(); ++d) {
        Expected<int64_t> want = symbolic.shape[d].evaluate(plan.symbol_values);
        agrees = concrete.shape[d].is_constant() && want.ok() &&
                 *want == concrete.shape[d].constant_value() && *want >= 0;
      }
      if (!agrees) {
        return internal_error(runtime_node_context(g, i), ": output ", k, " is ", g.type_text(concrete),
                              " at run time, but the engine's type ", g.type_text(symbolic),
                              " says otherwise");
      }
      plan.types[n.outputs[k]] = std::move(concrete);
    }
  }
  return ok_status();
}

// Step 3: each node's kernel scratch for these shapes.
Status plan_kernel_workspace(const Engine& engine, ExecutionPlan& plan) {
  const Graph& g = engine.graph();
  plan.scratch_bytes.assign(g.nodes.size(), 0);
  std::vector<TensorView> node_inputs, node_outputs;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Kernel* k = engine.kernels()[i];
    if (k->workspace_bytes == nullptr) continue;
    const Node& n = g.nodes[i];
    node_inputs.clear();
    node_outputs.clear();
    for (ValueId v : n.inputs) {
      node_inputs.push_back(v == kNoValue ? TensorView{}
                                          : TensorView{nullptr, plan.types[v].dtype, plan.shapes[v]});
    }
    for (ValueId v : n.outputs) {
      node_outputs.push_back(TensorView{nullptr, plan.types[v].dtype, plan.shapes[v]});
    }
    KernelArgs args{n, plan.symbol_values, node_inputs, node_outputs};
    Expected<size_t> bytes = runtime_kernel_workspace(*k, args);
    if (!bytes.ok()) return bytes.status().with_context(runtime_node_context(g, i));
    if (*bytes > static_cast<size_t>(std::numeric_limits<int64_t>::max() / 2)) {
      return out_of_range(runtime_node_context(g, i), ": kernel ", k->name, " asks for ", *bytes,
                          " bytes of scratch");
    }
    plan.scratch_bytes[i] = static_cast<int64_t>(*bytes);
  }
  return ok_status();
}

// Step 4a: the tail whose outputs its nodes write straight into the caller's buffers
// (ExecutionPlan::direct_outputs, tail_begin). Returns, per value, whether it is such an output's
// bytes (the root of its aliases).
std::vector<bool> plan_direct_outputs(const Graph& g, ExecutionPlan& plan) {
  const size_t nv = g.values.size();
  auto root = [&](ValueId v) { return plan.alias_of[v] != kNoValue ? plan.alias_of[v] : v; };
  std::vector<int> output_uses(nv, 0);  // how many graph outputs are each value's bytes
  std::vector<bool> read(nv, false);    // whether a kernel reads them
  std::vector<bool> graph_input(nv, false);
  for (ValueId v : g.outputs) ++output_uses[root(v)];
  for (ValueId v : g.inputs) graph_input[v] = true;
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kReshape) continue;  // a view: launches nothing
    for (ValueId v : n.inputs) {
      if (v != kNoValue) read[root(v)] = true;
    }
  }
  std::vector<bool> direct(nv, false);
  plan.tail_begin = g.nodes.size();
  for (size_t i = g.nodes.size(); i-- > 0;) {  // the longest run of such nodes that ends the graph
    const Node& n = g.nodes[i];
    if (n.op == OpKind::kConstant || n.op == OpKind::kReshape) continue;  // launch nothing
    bool writes = false, reads_input = false;
    for (ValueId v : n.outputs) writes = writes || (output_uses[v] == 1 && !read[v]);
    for (ValueId v : n.inputs) reads_input = reads_input || (v != kNoValue && graph_input[root(v)]);
    if (!writes || reads_input) break;
    for (ValueId v : n.outputs) direct[v] = output_uses[v] == 1 && !read[v];
    plan.tail_begin = i;
  }
  plan.direct_outputs.assign(g.outputs.size(), false);
  for (size_t i = 0; i < g.outputs.size(); ++i) plan.direct_outputs[i] = direct[root(g.outputs[i])];
  return direct;
}

// Step 4b: the arena: every node output but the direct ones, each node's scratch, and, when
// `stage_inputs` (for CUDA graph replay), the graph inputs; constants live elsewhere.
Status plan_arena(const Graph& g, bool stage_inputs, ExecutionPlan& plan) {
  // A reshape's output is a view of its input's bytes (row-major order is unchanged).
  plan.alias_of.assign(g.values.size(), kNoValue);
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::kReshape) continue;
    const ValueId in = n.inputs[0];
    plan.alias_of[n.outputs[0]] = plan.alias_of[in] != kNoValue ? plan.alias_of[in] : in;
  }
  const std::vector<bool> direct = plan_direct_outputs(g, plan);
  std::vector<int64_t> bytes(g.values.size(), 0);
  // A bool array rather than std::vector<bool>, which has no contiguous storage to span.
  std::unique_ptr<bool[]> in_arena(new bool[g.values.size() + 1]());
  auto place = [&](ValueId v) -> Status {
    KILN_ASSIGN_OR_RETURN(ConcreteShape shape, to_concrete(plan.types[v].shape));
    KILN_ASSIGN_OR_RETURN(bytes[v], checked_bytes(v, shape, plan.types[v].dtype));
    in_arena[v] = true;
    return ok_status();
  };
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kConstant) continue;
    for (ValueId v : n.outputs) {
      if (!direct[v]) KILN_RETURN_IF_ERROR(place(v));
    }
  }
  if (stage_inputs) {
    for (ValueId v : g.inputs) KILN_RETURN_IF_ERROR(place(v));
  }
  // The planner adds aligned sizes unchecked; their sum bounds the arena it plans, so an input
  // shape whose activations would overflow int64 is refused here.
  int64_t bound = 0;
  auto add_aligned = [&](int64_t n) {
    int64_t padded = 0;
    return !__builtin_add_overflow(n, kArenaAlignment - 1, &padded) &&
           !__builtin_add_overflow(bound, padded / kArenaAlignment * kArenaAlignment, &bound);
  };
  bool fits = true;
  for (size_t v = 0; v < g.values.size() && fits; ++v) fits = !in_arena[v] || add_aligned(bytes[v]);
  for (size_t i = 0; i < plan.scratch_bytes.size() && fits; ++i) {
    fits = add_aligned(plan.scratch_bytes[i]);
  }
  if (!fits) {
    return out_of_range("the activations of these input shapes need more than 2^63 bytes");
  }
  // One region, or split at the tail: what the tail reads and writes apart from what only the
  // nodes before it use, which a caller may release before it allocates the outputs (run_body,
  // run_tail). The split wins when the direct outputs can reuse the body's bytes: a call's peak is
  // then tail + max(body, outputs) instead of arena + outputs. It loses a little otherwise (the
  // tail's values and scratch can no longer reuse dead body bytes: 0.2 MiB on ViT-B/16 at batch
  // 1, H100, 2026-11-27), so it is taken only where it lowers that peak.
  const std::span<const bool> placed(in_arena.get(), g.values.size());
  plan.memory = plan_memory(g, bytes, placed, plan.alias_of, plan.scratch_bytes);
  if (plan.tail_begin > 0 && plan.tail_begin < g.nodes.size()) {
    __int128 outputs = 0;  // (sums of int64 sizes, compared without overflow)
    for (size_t v = 0; v < g.values.size(); ++v) {
      if (!direct[v]) continue;
      KILN_ASSIGN_OR_RETURN(ConcreteShape shape, to_concrete(plan.types[v].shape));
      KILN_ASSIGN_OR_RETURN(int64_t n, checked_bytes(static_cast<ValueId>(v), shape,
                                                     plan.types[v].dtype));
      outputs += n;
    }
    MemoryPlan split = plan_memory(g, bytes, placed, plan.alias_of, plan.scratch_bytes,
                                   static_cast<int64_t>(plan.tail_begin));
    const __int128 body = split.arena_bytes - split.tail_bytes;
    if (split.tail_bytes + std::max(body, outputs) < plan.memory.arena_bytes + outputs) {
      plan.memory = std::move(split);
    }
  }
  plan.run_bytes = plan.memory.arena_bytes;
  plan.staging_offsets.clear();
  if (stage_inputs) {
    for (ValueId v : g.inputs) plan.staging_offsets.push_back(plan.memory.offsets[v]);
  }
  return ok_status();
}

}  // namespace

std::vector<TensorView> runtime_bind_values(const Graph& g, const ExecutionPlan& plan,
                                            const ArenaBases& arena,
                                            std::span<const TensorView> inputs,
                                            std::span<void* const> constants,
                                            std::span<const TensorView> outputs) {
  std::vector<TensorView> views(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    views[v].dtype = plan.types[v].dtype;
    views[v].shape = plan.shapes[v];
    if (plan.memory.offsets[v] >= 0) views[v].data = arena.at(plan.memory.offsets[v]);
  }
  for (size_t i = 0; i < inputs.size() && i < g.inputs.size(); ++i) {
    views[g.inputs[i]].data = inputs[i].data;
  }
  for (size_t i = 0; i < g.nodes.size() && i < constants.size(); ++i) {
    if (g.nodes[i].op == OpKind::kConstant) views[g.nodes[i].outputs[0]].data = constants[i];
  }
  for (size_t i = 0; i < outputs.size() && i < g.outputs.size(); ++i) {
    if (!plan.direct_outputs[i]) continue;
    const ValueId o = g.outputs[i];
    views[plan.alias_of[o] != kNoValue ? plan.alias_of[o] : o].data = outputs[i].data;
  }
  for (size_t v = 0; v < g.values.size(); ++v) {  // views of inputs, constants and direct outputs
    if (plan.alias_of[v] != kNoValue) views[v].data = views[plan.alias_of[v]].data;
  }
  return views;
}

Status runtime_run_nodes(const Engine& engine, const ExecutionPlan& plan,
                         std::span<const TensorView> values, const ArenaBases& arena, void* stream,
                         size_t begin, size_t end,
                         const std::function<Status(size_t node)>* after_node) {
  const Graph& g = engine.graph();
  const std::vector<const Kernel*>& kernels = engine.kernels();
  std::vector<TensorView> node_inputs, node_outputs;
  for (size_t i = begin; i < end && i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op == OpKind::kConstant || plan.alias_of[n.outputs[0]] != kNoValue) continue;  // no work
    node_inputs.clear();
    node_outputs.clear();
    for (ValueId v : n.inputs) node_inputs.push_back(v == kNoValue ? TensorView{} : values[v]);
    for (ValueId v : n.outputs) node_outputs.push_back(values[v]);
    KernelArgs args{n, plan.symbol_values, node_inputs, node_outputs, stream};
    if (plan.scratch_bytes[i] != 0) {
      args.workspace = arena.at(plan.memory.scratch_offsets[i]);
      args.workspace_bytes = static_cast<size_t>(plan.scratch_bytes[i]);
    }
    Status s = kernels[i]->run(args);
    if (s.ok() && after_node != nullptr) s = (*after_node)(i);
    if (!s.ok()) return s.with_context(runtime_node_context(g, i));
  }
  return ok_status();
}

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine,
                                   ExecutionContextOptions options)
    : engine_(std::move(engine)) {
  if (options.use_cuda_graphs) {
    use_cuda_graphs_ = *options.use_cuda_graphs;
  } else {
    const std::string_view flag = engine_->metadata("use_cuda_graphs");
    use_cuda_graphs_ = flag == "1" || flag == "true";
  }
  use_cuda_graphs_ = use_cuda_graphs_ && engine_->device() == DeviceKind::kCuda;
}

ExecutionContext::~ExecutionContext() = default;

int64_t ExecutionContext::cuda_graphs_captured() const {
  return cuda_ ? cuda_->graphs_captured : 0;
}

Expected<const ExecutionPlan*> ExecutionContext::plan_for(std::span<const ConcreteShape> inputs) {
  std::vector<int64_t> key;
  for (const ConcreteShape& s : inputs) {
    key.push_back(static_cast<int64_t>(s.size()));
    key.insert(key.end(), s.begin(), s.end());
  }
  if (auto it = plans_.find(key); it != plans_.end()) return it->second.get();

  const Graph& g = engine_->graph();
  auto plan = std::make_unique<ExecutionPlan>();
  KILN_ASSIGN_OR_RETURN(plan->symbol_values, bind_symbols(g, inputs));
  KILN_RETURN_IF_ERROR(infer_concrete_types(g, inputs, *plan));
  for (const TensorType& t : plan->types) {
    KILN_ASSIGN_OR_RETURN(ConcreteShape shape, to_concrete(t.shape));
    plan->shapes.push_back(std::move(shape));
  }
  KILN_RETURN_IF_ERROR(plan_kernel_workspace(*engine_, *plan));
  KILN_RETURN_IF_ERROR(plan_arena(g, use_cuda_graphs_, *plan));
  const ExecutionPlan* result = plan.get();
  plans_.emplace(std::move(key), std::move(plan));
  return result;
}

Expected<std::vector<ConcreteShape>> ExecutionContext::infer_output_shapes(
    std::span<const ConcreteShape> inputs) {
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, plan_for(inputs));
  std::vector<ConcreteShape> out;
  for (ValueId v : engine_->graph().outputs) {
    KILN_ASSIGN_OR_RETURN(ConcreteShape shape, to_concrete(plan->types[v].shape));
    out.push_back(std::move(shape));
  }
  return out;
}

Expected<int64_t> ExecutionContext::workspace_bytes(std::span<const ConcreteShape> inputs) {
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, plan_for(inputs));
  return plan->run_bytes;
}

Expected<WorkspaceSizes> ExecutionContext::workspace_sizes(std::span<const ConcreteShape> inputs) {
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, plan_for(inputs));
  return WorkspaceSizes{plan->run_bytes - plan->memory.tail_bytes, plan->memory.tail_bytes};
}

Expected<const ExecutionPlan*> ExecutionContext::check_inputs(std::span<const TensorView> inputs) {
  const Graph& g = engine_->graph();
  if (inputs.size() != g.inputs.size()) {
    return invalid_argument("engine takes ", g.inputs.size(), " inputs, got ", inputs.size());
  }
  std::vector<ConcreteShape> input_shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DType want = g.type(g.inputs[i]).dtype;
    if (inputs[i].dtype != want) {
      return invalid_argument("input '", runtime_input_name(g, i), "' must be ", dtype_name(want), ", got ",
                              dtype_name(inputs[i].dtype));
    }
    input_shapes.push_back(inputs[i].shape);
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, plan_for(input_shapes));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].data == nullptr && inputs[i].numel() != 0) {
      return invalid_argument("input '", runtime_input_name(g, i), "' has no data (null pointer)");
    }
  }
  return plan;
}

Status ExecutionContext::check_outputs(const ExecutionPlan& plan,
                                       std::span<const TensorView> outputs) {
  const Graph& g = engine_->graph();
  if (outputs.size() != g.outputs.size()) {
    return invalid_argument("engine has ", g.outputs.size(), " outputs, got ", outputs.size(),
                            " output buffers");
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ValueId v = g.outputs[i];
    if (outputs[i].dtype != plan.types[v].dtype) {
      return invalid_argument("output '", runtime_output_name(g, i), "' must be ",
                              dtype_name(plan.types[v].dtype), ", got ",
                              dtype_name(outputs[i].dtype));
    }
    if (outputs[i].shape != plan.shapes[v]) {
      return invalid_argument("output '", runtime_output_name(g, i), "' must have shape ",
                              concrete_text(plan.shapes[v]), " for these inputs, got ",
                              concrete_text(outputs[i].shape));
    }
    if (outputs[i].data == nullptr && outputs[i].numel() != 0) {
      return invalid_argument("output '", runtime_output_name(g, i), "' has no data (null pointer)");
    }
  }
  return ok_status();
}

Expected<const ExecutionPlan*> ExecutionContext::check_io(std::span<const TensorView> inputs,
                                                          std::span<const TensorView> outputs) {
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_inputs(inputs));
  KILN_RETURN_IF_ERROR(check_outputs(*plan, outputs));
  return plan;
}

Status ExecutionContext::check_workspace(const char* what, void* block, int64_t bytes,
                                         int64_t needed) {
  if (bytes < needed) {
    return invalid_argument(what, " has ", bytes, " bytes, these input shapes need ", needed);
  }
  if (block == nullptr && needed != 0) return invalid_argument(what, " has no data (null pointer)");
  if (reinterpret_cast<uintptr_t>(block) % kArenaAlignment != 0) {
    return invalid_argument(what, " must be ", kArenaAlignment, "-byte aligned");
  }
  return ok_status();
}

Status ExecutionContext::run(std::span<const TensorView> inputs,
                             std::span<const TensorView> outputs) {
  if (engine_->device() != DeviceKind::kCpu) {
    return invalid_argument("engine runs on ", device_name(engine_->device()),
                            ": pass device buffers and a stream to run(inputs, outputs, stream)");
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_io(inputs, outputs));
  const Graph& g = engine_->graph();
  // 3. The arena, grown when a plan needs more and kept between runs.
  const size_t needed = static_cast<size_t>(plan->run_bytes) + kArenaAlignment;
  if (arena_.size() < needed) {
    try {
      arena_.resize(needed);
    } catch (const std::exception&) {  // bad_alloc or length_error
      return out_of_range("cannot allocate ", plan->run_bytes,
                          " bytes for the activation arena");
    }
  }
  const uintptr_t raw = reinterpret_cast<uintptr_t>(arena_.data());
  uint8_t* base = arena_.data() + ((kArenaAlignment - raw % kArenaAlignment) % kArenaAlignment);
  // 4. A view of every value; constants point at the engine's host data.
  std::vector<void*> constants(g.nodes.size(), nullptr);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != OpKind::kConstant) continue;
    constants[i] = const_cast<uint8_t*>(g.nodes[i].attrs_as<ConstantAttrs>().data.data());
  }
  const ArenaBases arena = ArenaBases::one_block(base, *plan);
  std::vector<TensorView> views = runtime_bind_values(g, *plan, arena, inputs, constants, outputs);
  // 5. The nodes, in order.
  KILN_RETURN_IF_ERROR(runtime_run_nodes(*engine_, *plan, views, arena, nullptr, 0, g.nodes.size()));
  // 6. The other outputs, copied out (memmove: a caller may pass an input buffer as an output).
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (plan->direct_outputs[i]) continue;
    const TensorView& from = views[g.outputs[i]];
    if (from.nbytes() != 0) std::memmove(outputs[i].data, from.data, from.nbytes());
  }
  return ok_status();
}

Status ExecutionContext::run(std::span<const TensorView> inputs,
                             std::span<const TensorView> outputs, void* stream) {
  if (engine_->device() != DeviceKind::kCuda) {
    return invalid_argument("engine runs on ", device_name(engine_->device()),
                            ": pass host buffers to run(inputs, outputs), without a stream");
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_io(inputs, outputs));
  return run_cuda(*plan, inputs, outputs, stream, Phase::kAll, nullptr);
}

Expected<std::vector<double>> ExecutionContext::profile(std::span<const TensorView> inputs,
                                                        std::span<const TensorView> outputs,
                                                        void* stream) {
  if (engine_->device() != DeviceKind::kCuda) {
    return invalid_argument("profile() times CUDA engines; this engine runs on ",
                            device_name(engine_->device()));
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_io(inputs, outputs));
  std::vector<double> node_ms(engine_->graph().nodes.size(), 0.0);
  KILN_RETURN_IF_ERROR(
      run_cuda(*plan, inputs, outputs, stream, Phase::kAll, nullptr, &node_ms));
  return node_ms;
}

Status ExecutionContext::run(std::span<const TensorView> inputs,
                             std::span<const TensorView> outputs, void* stream, void* workspace,
                             int64_t workspace_bytes) {
  if (engine_->device() != DeviceKind::kCuda) {
    return invalid_argument("engine runs on ", device_name(engine_->device()),
                            ": pass host buffers to run(inputs, outputs), without a stream");
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_io(inputs, outputs));
  KILN_RETURN_IF_ERROR(check_workspace("workspace", workspace, workspace_bytes, plan->run_bytes));
  const ArenaBases arena = ArenaBases::one_block(static_cast<uint8_t*>(workspace), *plan);
  return run_cuda(*plan, inputs, outputs, stream, Phase::kAll, &arena);
}

Status ExecutionContext::run_body(std::span<const TensorView> inputs, void* stream, void* body,
                                  int64_t body_bytes, void* tail, int64_t tail_bytes) {
  if (engine_->device() != DeviceKind::kCuda) {
    return invalid_argument("run_body runs CUDA engines; this engine runs on ",
                            device_name(engine_->device()));
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_inputs(inputs));
  KILN_RETURN_IF_ERROR(check_workspace("body workspace", body, body_bytes,
                                       plan->run_bytes - plan->memory.tail_bytes));
  KILN_RETURN_IF_ERROR(
      check_workspace("tail workspace", tail, tail_bytes, plan->memory.tail_bytes));
  const ArenaBases arena{static_cast<uint8_t*>(tail), static_cast<uint8_t*>(body),
                         plan->memory.tail_bytes};
  pending_tail_.reset();
  KILN_RETURN_IF_ERROR(run_cuda(*plan, inputs, {}, stream, Phase::kBody, &arena));
  pending_tail_ = PendingTail{plan, stream, tail};
  return ok_status();
}

Status ExecutionContext::run_tail(std::span<const TensorView> inputs,
                                  std::span<const TensorView> outputs, void* stream, void* tail,
                                  int64_t tail_bytes) {
  if (engine_->device() != DeviceKind::kCuda) {
    return invalid_argument("run_tail runs CUDA engines; this engine runs on ",
                            device_name(engine_->device()));
  }
  KILN_ASSIGN_OR_RETURN(const ExecutionPlan* plan, check_io(inputs, outputs));
  KILN_RETURN_IF_ERROR(
      check_workspace("tail workspace", tail, tail_bytes, plan->memory.tail_bytes));
  // The tail reads what run_body wrote into the tail memory: only right after it.
  const std::optional<PendingTail> pending = std::exchange(pending_tail_, std::nullopt);
  if (!pending || pending->plan != plan || pending->stream != stream || pending->tail != tail) {
    return invalid_argument(
        "run_tail must follow run_body with the same input shapes, stream and tail memory; ",
        pending ? "the last run_body differs" : "no run_body ran before it");
  }
  const ArenaBases arena{static_cast<uint8_t*>(tail), nullptr, plan->memory.tail_bytes};
  return run_cuda(*plan, inputs, outputs, stream, Phase::kTail, &arena);
}

#if !KILN_HAVE_CUDA
ExecutionContext::CudaState::~CudaState() = default;

Expected<size_t> runtime_kernel_workspace(const Kernel& kernel, const KernelArgs& args) {
  return kernel.workspace_bytes(args);
}

Status ExecutionContext::run_cuda(const ExecutionPlan&, std::span<const TensorView>,
                                  std::span<const TensorView>, void*, Phase, const ArenaBases*,
                                  std::vector<double>*) {
  return unsupported("this kiln has no CUDA backend");
}
#endif

}  // namespace kiln
