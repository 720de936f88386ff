// kiln._C: the Python binding. Converts types and maps Status codes to Python exceptions in one
// table (status_to_exception); holds no logic of its own. Host tensors cross as numpy / DLPack
// arrays; device tensors cross as (data pointer, dtype name, shape) and streams as cudaStream_t
// integers, never through libtorch.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "kiln/build/builder.h"
#include "kiln/ir/op.h"
#include "kiln/passes/pass_manager.h"
#include "kiln/runtime.h"
#include "kiln/text/parser.h"
#include "kiln/text/printer.h"
#include "binding_util.h"

namespace nb = nanobind;

namespace kiln {
namespace {

nb::dlpack::dtype to_dlpack(DType t) {
  switch (t) {
    case DType::kF32: return nb::dtype<float>();
    case DType::kF64: return nb::dtype<double>();
    case DType::kF16: return {static_cast<uint8_t>(nb::dlpack::dtype_code::Float), 16, 1};
    case DType::kBF16: return {static_cast<uint8_t>(nb::dlpack::dtype_code::Bfloat), 16, 1};
    case DType::kI64: return nb::dtype<int64_t>();
    case DType::kI32: return nb::dtype<int32_t>();
    case DType::kI8: return nb::dtype<int8_t>();
    case DType::kU8: return nb::dtype<uint8_t>();
    case DType::kBool: return nb::dtype<bool>();
  }
  return nb::dtype<float>();
}

std::optional<DType> from_dlpack(nb::dlpack::dtype d) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    if (to_dlpack(t) == d) return t;
  }
  return std::nullopt;
}

using HostArray = nb::ndarray<nb::numpy, nb::c_contig, nb::device::cpu>;
using AnyArray = nb::ndarray<nb::c_contig>;
// A contiguous device tensor: (data pointer, dtype name, shape).
using DeviceTensor = std::tuple<uintptr_t, std::string, std::vector<int64_t>>;

std::vector<TensorView> device_views(const std::vector<DeviceTensor>& tensors, const char* what) {
  std::vector<TensorView> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [ptr, dtype, shape] = tensors[i];
    std::optional<DType> dt;
    for (int k = 0; k < kNumDTypes; ++k) {
      if (dtype_name(static_cast<DType>(k)) == dtype) dt = static_cast<DType>(k);
    }
    if (!dt) throw nb::type_error(str_cat(what, " ", i, ": unknown dtype '", dtype, "'").c_str());
    out.push_back(TensorView{reinterpret_cast<void*>(ptr), *dt, shape});
  }
  return out;
}

// An execution context of a shared engine (one per Python object; not thread-safe: callers lock).
class PyExecutionContext {
 public:
  PyExecutionContext(std::shared_ptr<const Engine> engine, std::optional<bool> use_cuda_graphs)
      : context_(std::move(engine), ExecutionContextOptions{use_cuda_graphs}) {}

  std::vector<std::vector<int64_t>> output_shapes(const std::vector<std::vector<int64_t>>& in) {
    return check(context_.infer_output_shapes(in));
  }
  // (node index, bytes) of every node whose kernel asks for scratch with these input shapes.
  std::vector<std::tuple<int64_t, int64_t>> scratch(const std::vector<std::vector<int64_t>>& in) {
    const ExecutionPlan* plan = check(context_.plan_for(in));
    std::vector<std::tuple<int64_t, int64_t>> out;
    for (size_t i = 0; i < plan->scratch_bytes.size(); ++i) {
      if (plan->scratch_bytes[i] != 0) out.emplace_back(i, plan->scratch_bytes[i]);
    }
    return out;
  }
  // (body, tail) bytes of run_body's and run_tail's activation memory for these input shapes.
  std::tuple<int64_t, int64_t> workspace_sizes(const std::vector<std::vector<int64_t>>& in) {
    WorkspaceSizes sizes = check(context_.workspace_sizes(in));
    return {sizes.body, sizes.tail};
  }
  // ExecutionContext::run_body and run_tail: a run in two halves on the caller's memory.
  void run_body(const std::vector<DeviceTensor>& ins, uintptr_t stream, uintptr_t body,
                int64_t body_bytes, uintptr_t tail, int64_t tail_bytes) {
    std::vector<TensorView> in_views = device_views(ins, "input");
    nb::gil_scoped_release release;
    check(context_.run_body(in_views, reinterpret_cast<void*>(stream),
                            reinterpret_cast<void*>(body), body_bytes,
                            reinterpret_cast<void*>(tail), tail_bytes));
  }
  void run_tail(const std::vector<DeviceTensor>& ins, const std::vector<DeviceTensor>& outs,
                uintptr_t stream, uintptr_t tail, int64_t tail_bytes) {
    std::vector<TensorView> in_views = device_views(ins, "input");
    std::vector<TensorView> out_views = device_views(outs, "output");
    nb::gil_scoped_release release;
    check(context_.run_tail(in_views, out_views, reinterpret_cast<void*>(stream),
                            reinterpret_cast<void*>(tail), tail_bytes));
  }
  // Per-node GPU milliseconds of one run on `stream` (plain launches; waits for the run).
  std::vector<double> profile_device(const std::vector<DeviceTensor>& ins,
                                     const std::vector<DeviceTensor>& outs, uintptr_t stream) {
    std::vector<TensorView> in_views = device_views(ins, "input");
    std::vector<TensorView> out_views = device_views(outs, "output");
    nb::gil_scoped_release release;
    return check(context_.profile(in_views, out_views, reinterpret_cast<void*>(stream)));
  }
  bool use_cuda_graphs() const { return context_.use_cuda_graphs(); }
  int64_t cuda_graphs_captured() const { return context_.cuda_graphs_captured(); }

 private:
  ExecutionContext context_;
};

// A Python-visible engine with one execution context (one per Python object; not thread-safe).
class PyEngine {
 public:
  explicit PyEngine(nb::bytes data) {
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
    engine_ = check(Engine::from_bytes(bytes));
    context_ = std::make_unique<ExecutionContext>(engine_);
  }

  std::vector<std::tuple<std::string, std::string, std::string>> io(bool inputs) const {
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const IOInfo& info : inputs ? engine_->inputs() : engine_->outputs()) {
      out.emplace_back(info.name, std::string(dtype_name(info.dtype)), info.shape_text);
    }
    return out;
  }

  // Per node: (op, kernel, output type, source location), by node index.
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> nodes() const {
    const Graph& g = engine_->graph();
    std::vector<std::tuple<std::string, std::string, std::string, std::string>> out;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      std::string type = n.outputs.empty() ? "" : g.type_text(g.type(n.outputs[0]));
      out.emplace_back(std::string(op_name(n.op)), std::string(engine_->kernels()[i]->name),
                       std::move(type), n.loc);
    }
    return out;
  }

  std::string ir() const { return print_graph(engine_->graph()); }
  const Engine* engine() const { return engine_.get(); }

  std::vector<HostArray> run(const std::vector<HostArray>& arrays) {
    const Graph& g = engine_->graph();
    if (arrays.size() != g.inputs.size()) {
      throw nb::value_error(str_cat("engine takes ", g.inputs.size(), " inputs, got ",
                                    arrays.size()).c_str());
    }
    std::vector<TensorView> inputs;
    std::vector<ConcreteShape> shapes;
    for (size_t i = 0; i < arrays.size(); ++i) {
      const HostArray& a = arrays[i];
      std::optional<DType> dt = from_dlpack(a.dtype());
      const std::string& name = g.values[g.inputs[i]].name;
      if (!dt) throw nb::type_error(str_cat("input '", name, "' has an unsupported dtype").c_str());
      ConcreteShape shape(a.shape_ptr(), a.shape_ptr() + a.ndim());
      inputs.push_back(TensorView{const_cast<void*>(a.data()), *dt, shape});
      shapes.push_back(shape);
    }
    std::vector<ConcreteShape> out_shapes = check(context_->infer_output_shapes(shapes));
    std::vector<HostArray> results;
    std::vector<TensorView> outputs;
    for (size_t i = 0; i < out_shapes.size(); ++i) {
      DType dt = g.type(g.outputs[i]).dtype;
      int64_t bytes = concrete_numel(out_shapes[i]) * dtype_size(dt);
      auto* buffer = new uint8_t[bytes > 0 ? bytes : 1];
      nb::capsule owner(buffer, [](void* p) noexcept { delete[] static_cast<uint8_t*>(p); });
      std::vector<size_t> dims(out_shapes[i].begin(), out_shapes[i].end());
      results.emplace_back(buffer, dims.size(), dims.data(), owner, nullptr, to_dlpack(dt));
      outputs.push_back(TensorView{buffer, dt, out_shapes[i]});
    }
    {
      nb::gil_scoped_release release;
      check(context_->run(inputs, outputs));
    }
    return results;
  }

  // Runs on caller-allocated tensors (any DLPack producer: numpy, torch). Inputs and outputs must be
  // contiguous host memory of the engine's dtypes; outputs of infer_output_shapes' shapes.
  void run_into(const std::vector<AnyArray>& ins, const std::vector<AnyArray>& outs) {
    const Graph& g = engine_->graph();
    if (ins.size() != g.inputs.size() || outs.size() != g.outputs.size()) {
      throw nb::value_error(str_cat("engine takes ", g.inputs.size(), " inputs and ",
                                    g.outputs.size(), " outputs, got ", ins.size(), " and ",
                                    outs.size()).c_str());
    }
    auto views = [&](const std::vector<AnyArray>& arrays, const std::vector<ValueId>& values,
                     const char* what) {
      std::vector<TensorView> out;
      for (size_t i = 0; i < arrays.size(); ++i) {
        const AnyArray& a = arrays[i];
        const Value& v = g.values[values[i]];
        std::optional<DType> dt = from_dlpack(a.dtype());
        if (!dt || *dt != v.type.dtype) {
          throw nb::type_error(str_cat(what, " '", v.name, "' must be ",
                                       dtype_name(v.type.dtype), dt ? str_cat(", got ", dtype_name(*dt)) : "").c_str());
        }
        if (a.device_type() != nb::device::cpu::value) {
          throw nb::value_error(str_cat(what, " '", v.name, "' is not in host memory; this engine runs on the CPU").c_str());
        }
        out.push_back(TensorView{const_cast<void*>(a.data()), *dt,
                                 ConcreteShape(a.shape_ptr(), a.shape_ptr() + a.ndim())});
      }
      return out;
    };
    std::vector<TensorView> in_views = views(ins, g.inputs, "input");
    std::vector<TensorView> out_views = views(outs, g.outputs, "output");
    nb::gil_scoped_release release;
    check(context_->run(in_views, out_views));
  }

  // [(name, dtype, [dim, ...])] with dims as dim_to_py data.
  nb::list specs(bool inputs) const {
    nb::list out;
    for (const IOInfo& info : inputs ? engine_->inputs() : engine_->outputs()) {
      nb::list dims;
      for (const DimExpr& d : info.shape) dims.append(dim_to_py(d));
      out.append(nb::make_tuple(info.name, std::string(dtype_name(info.dtype)), dims));
    }
    return out;
  }

  // [(name, min, max, opt)] of the engine's shape symbols.
  std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> symbols() const {
    std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
    for (const SymbolInfo& s : engine_->graph().symbols) out.emplace_back(s.name, s.min, s.max, s.opt);
    return out;
  }

  std::vector<std::vector<int64_t>> output_shapes(const std::vector<std::vector<int64_t>>& in) {
    return check(context_->infer_output_shapes(in));
  }

  std::string device() const { return std::string(device_name(engine_->device())); }
  int64_t device_constant_bytes() const { return engine_->device_constant_bytes(); }
  // Uploads the constants for CUDA device `device` into the caller's memory (see
  // Engine::upload_constants), queued on `stream`, which it synchronizes.
  void upload_constants(int device, uintptr_t block, int64_t bytes, uintptr_t stream) const {
    void* b = reinterpret_cast<void*>(block);
    void* s = reinterpret_cast<void*>(stream);
    nb::gil_scoped_release release;
    check(engine_->upload_constants(device, b, bytes, s));
  }
  std::string metadata(const std::string& key) const { return std::string(engine_->metadata(key)); }
  // A new context of this engine (owned by the caller).
  PyExecutionContext* new_context(std::optional<bool> use_cuda_graphs) const {
    return new PyExecutionContext(engine_, use_cuda_graphs);
  }

 private:
  std::shared_ptr<const Engine> engine_;
  std::unique_ptr<ExecutionContext> context_;
};

}  // namespace
}  // namespace kiln

NB_MODULE(_C, m) {
  using namespace kiln;
  m.doc() = "kiln's native core (IR, passes, builder, runtime). Use the kiln package, not this.";
  nb::exception<KilnError>(m, "KilnError", PyExc_RuntimeError);
  bind_frontend(m);
  nb::set_leak_warnings(false);  // engines cached for the process's lifetime are not leaks

  m.def("version", [] { return std::string(KILN_VERSION); });
  m.def("has_cuda", [] { return KILN_HAVE_CUDA != 0; });
  m.def("op_names", [] {
    std::vector<std::string> names;
    for (int i = 0; i < kNumOps; ++i) names.emplace_back(op_name(static_cast<OpKind>(i)));
    return names;
  });
  m.def(
      "format_ir",
      [](const std::string& text, const std::vector<std::string>& passes) {
        Graph g = check(parse_graph(text, "<string>"));
        PassManagerOptions options = pass_manager_options_from_env();
        options.verify_each = true;
        check(run_passes(g, passes, options));
        return print_graph(g);
      },
      nb::arg("text"), nb::arg("passes") = std::vector<std::string>{},
      "Parses IR text, runs the named passes and prints the result.");
  m.def(
      "build_engine",
      [](const std::string& text, const std::string& device) {
        Graph g = check(parse_graph(text, "<string>"));
        BuildOptions options;
        options.passes = pass_manager_options_from_env();
        if (device == "cuda") {
          options.device = DeviceKind::kCuda;
        } else if (device != "cpu") {
          throw nb::value_error(str_cat("device must be 'cpu' or 'cuda', got '", device, "'").c_str());
        }
        EngineContents contents = check(build_engine(std::move(g), options));
        std::vector<uint8_t> bytes = check(write_engine(contents));
        return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      nb::arg("text"), nb::arg("device") = "cpu", "Builds an engine file (bytes) from IR text.");

  m.def(
      "profile_report",
      [](const std::vector<std::tuple<std::string, const PyEngine*, std::vector<double>>>& runs,
         size_t top) {
        std::vector<EngineProfile> profiles;
        for (const auto& [name, engine, node_ms] : runs) {
          if (engine->engine()->graph().nodes.size() != node_ms.size()) {
            throw nb::value_error(str_cat("engine ", name, " has ",
                                          engine->engine()->graph().nodes.size(), " nodes, got ",
                                          node_ms.size(), " times").c_str());
          }
          profiles.push_back({name, engine->engine(), node_ms});
        }
        return profile_report(profiles, top);
      },
      nb::arg("runs"), nb::arg("top"),
      "The profile report (runtime.h) for (engine name, Engine, per-node ms) triples.");

  nb::class_<PyEngine>(m, "Engine")
      .def(nb::init<nb::bytes>(), nb::arg("data"))
      .def_prop_ro("inputs", [](const PyEngine& e) { return e.io(true); })
      .def_prop_ro("outputs", [](const PyEngine& e) { return e.io(false); })
      .def("run", &PyEngine::run, nb::arg("inputs"))
      .def("output_shapes", &PyEngine::output_shapes, nb::arg("input_shapes"))
      .def("run_into", &PyEngine::run_into, nb::arg("inputs"), nb::arg("outputs"))
      .def_prop_ro("input_specs", [](const PyEngine& e) { return e.specs(true); })
      .def_prop_ro("output_specs", [](const PyEngine& e) { return e.specs(false); })
      .def_prop_ro("symbols", &PyEngine::symbols)
      .def_prop_ro("nodes", &PyEngine::nodes, "Per node: (op, kernel, output type, location).")
      .def_prop_ro("ir", &PyEngine::ir, "The engine's graph (after the passes) as IR text.")
      .def_prop_ro("device", &PyEngine::device)
      .def_prop_ro("device_constant_bytes", &PyEngine::device_constant_bytes,
                   "Bytes of device memory one device's copy of the constants takes.")
      .def("upload_constants", &PyEngine::upload_constants, nb::arg("device"), nb::arg("block"),
           nb::arg("bytes"), nb::arg("stream"),
           "Uploads the constants for a CUDA device into caller memory (a data pointer that must "
           "stay valid while the engine lives), on `stream`.")
      .def("metadata", &PyEngine::metadata, nb::arg("key"))
      .def("new_context", &PyEngine::new_context, nb::arg("use_cuda_graphs") = nb::none(),
           nb::rv_policy::take_ownership,
           "A new execution context of this engine (None: CUDA graphs as the engine says).");

  nb::class_<PyExecutionContext>(m, "ExecutionContext")
      .def("output_shapes", &PyExecutionContext::output_shapes, nb::arg("input_shapes"))
      .def("scratch", &PyExecutionContext::scratch, nb::arg("input_shapes"),
           "(node index, bytes) of each node's kernel scratch for these input shapes.")
      .def("workspace_sizes", &PyExecutionContext::workspace_sizes, nb::arg("input_shapes"),
           "(body, tail) bytes of activation memory that run_body and run_tail take.")
      .def("run_body", &PyExecutionContext::run_body, nb::arg("inputs"), nb::arg("stream"),
           nb::arg("body"), nb::arg("body_bytes"), nb::arg("tail"), nb::arg("tail_bytes"),
           "Queues the nodes before the tail on `stream` (a CUDA graph replay with graphs on); "
           "the body memory may be released afterwards, stream-ordered.")
      .def("run_tail", &PyExecutionContext::run_tail, nb::arg("inputs"), nb::arg("outputs"),
           nb::arg("stream"), nb::arg("tail"), nb::arg("tail_bytes"),
           "Queues the tail and the output copies after run_body, on the same stream and tail "
           "memory.")
      .def_prop_ro("use_cuda_graphs", &PyExecutionContext::use_cuda_graphs)
      .def("profile_device", &PyExecutionContext::profile_device, nb::arg("inputs"),
           nb::arg("outputs"), nb::arg("stream"))
      .def_prop_ro("cuda_graphs_captured", &PyExecutionContext::cuda_graphs_captured);
}
