// kiln._C, torch-frontend part: the TorchGraph interchange types, the importer, the partitioner and
// building one engine per group. Conversion only; the logic lives in src/importer, src/partition and
// src/build.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "binding_util.h"
#include "kiln/build/builder.h"
#include "kiln/importer/importer.h"
#include "kiln/partition/partition.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

using Kind = TorchValue::Kind;

TorchValue make(Kind kind) {
  TorchValue v;
  v.kind = kind;
  return v;
}

ImportOptions import_options(const std::string& f32_compute, bool truncate_double) {
  ImportOptions o;
  std::optional<DType> t = dtype_from_name(f32_compute);
  if (!t || !(*t == DType::kF32 || *t == DType::kF16 || *t == DType::kBF16)) {
    throw nb::value_error(str_cat("f32_compute must be f32, f16 or bf16, got '", f32_compute, "'").c_str());
  }
  o.f32_compute = *t;
  o.truncate_double = truncate_double;
  return o;
}

DeviceKind device_kind(const std::string& device) {
  if (device == "cuda") return DeviceKind::kCuda;
  if (device != "cpu") {
    throw nb::value_error(str_cat("device must be 'cpu' or 'cuda', got '", device, "'").c_str());
  }
  return DeviceKind::kCpu;
}

GroupIO group_io(const std::vector<int32_t>& nodes, const std::vector<int32_t>& inputs,
                 const std::vector<int32_t>& outputs,
                 const std::vector<int32_t>& channels_last_inputs = {}) {
  return GroupIO{nodes, inputs, outputs, channels_last_inputs};
}

}  // namespace

void bind_frontend(nb::module_& m) {
  nb::class_<TorchValue>(m, "TorchValue")
      .def_static("none", [] { return make(Kind::kNone); })
      .def_static("bool_", [](bool b) { auto v = make(Kind::kBool); v.b = b; return v; })
      .def_static("int_", [](int64_t i) { auto v = make(Kind::kInt); v.i = i; return v; })
      .def_static("float_", [](double f) { auto v = make(Kind::kFloat); v.f = f; return v; })
      .def_static("string", [](std::string s) { auto v = make(Kind::kString); v.s = s; return v; })
      .def_static("dtype", [](std::string s) { auto v = make(Kind::kDType); v.s = s; return v; })
      .def_static("node", [](int64_t i) { auto v = make(Kind::kNode); v.i = i; return v; })
      .def_static("list", [](std::vector<TorchValue> items) {
        auto v = make(Kind::kList);
        v.items = std::move(items);
        return v;
      })
      .def_static("tensor", [](std::string dtype, std::vector<TorchValue> dims) {
        auto v = make(Kind::kTensor);
        v.s = std::move(dtype);
        v.items = std::move(dims);
        return v;
      })
      .def_static("symint", [](std::string op, std::vector<TorchValue> items) {
        auto v = make(Kind::kSymInt);
        v.s = std::move(op);
        v.items = std::move(items);
        return v;
      })
      .def_static("other", [](std::string repr) { auto v = make(Kind::kOther); v.s = repr; return v; })
      .def("__repr__", &TorchValue::to_string);

  nb::class_<TorchGraph>(m, "TorchGraph")
      .def(nb::init<>())
      .def(
          "add_node",
          [](TorchGraph& g, std::string name, std::string op, std::string target,
             std::vector<TorchValue> args, TorchValue meta, std::string source) {
            TorchNode n;
            n.name = std::move(name);
            n.op = std::move(op);
            n.target = std::move(target);
            n.args = std::move(args);
            n.meta = std::move(meta);
            n.source = std::move(source);
            g.nodes.push_back(std::move(n));
            return g.nodes.size() - 1;
          },
          nb::arg("name"), nb::arg("op"), nb::arg("target"), nb::arg("args"), nb::arg("meta"),
          nb::arg("source"))
      .def(
          "set_data",
          [](TorchGraph& g, size_t index, uintptr_t pointer, size_t nbytes) {
            // Contiguous host bytes; the caller keeps them alive while this graph is used.
            if (index >= g.nodes.size()) throw nb::index_error("no such node");
            g.nodes[index].data = reinterpret_cast<const void*>(pointer);
            g.nodes[index].nbytes = nbytes;
          },
          nb::arg("index"), nb::arg("pointer"), nb::arg("nbytes"))
      .def(
          "add_symbol",
          [](TorchGraph& g, std::string name, int64_t min, int64_t max, int64_t opt) {
            g.symbols.push_back(TorchSymbol{std::move(name), min, max, opt});
          },
          nb::arg("name"), nb::arg("min"), nb::arg("max"), nb::arg("opt"))
      .def("node_context", &TorchGraph::node_context)
      .def_prop_ro("num_nodes", [](const TorchGraph& g) { return g.nodes.size(); });

  m.def("converter_targets", &converter_targets);

  m.def(
      "import_support",
      [](const TorchGraph& g, int32_t index, const std::string& f32_compute, bool truncate_double) {
        return import_support(g, index, import_options(f32_compute, truncate_double));
      },
      nb::arg("graph"), nb::arg("index"), nb::arg("f32_compute") = "f32",
      nb::arg("truncate_double") = false);

  // Returns (per-node [(class, group, reason)], groups [(nodes, inputs, outputs)], report text).
  m.def(
      "partition",
      [](const TorchGraph& g, int64_t min_block_size, std::vector<std::string> torch_executed_ops,
         bool require_full_compilation, const std::string& f32_compute, bool truncate_double,
         const std::string& device) {
        PartitionOptions o;
        o.device = device_kind(device);
        o.min_block_size = min_block_size;
        o.torch_executed_ops = std::move(torch_executed_ops);
        o.require_full_compilation = require_full_compilation;
        o.import = import_options(f32_compute, truncate_double);
        Partition p = check(partition_graph(g, o));
        static const char* kClass[] = {"structural", "shape", "ignored", "compute"};
        std::vector<std::tuple<std::string, int32_t, std::string>> nodes;
        for (const NodeDecision& d : p.nodes) {
          nodes.emplace_back(kClass[static_cast<int>(d.cls)], d.group, d.reason);
        }
        std::vector<std::tuple<std::vector<int32_t>, std::vector<int32_t>, std::vector<int32_t>>>
            groups;
        for (const GroupIO& io : p.groups) groups.emplace_back(io.nodes, io.inputs, io.outputs);
        return std::make_tuple(nodes, groups, partition_report(g, p));
      },
      nb::arg("graph"), nb::arg("min_block_size"), nb::arg("torch_executed_ops"),
      nb::arg("require_full_compilation"), nb::arg("f32_compute"),
      nb::arg("truncate_double"), nb::arg("device") = "cpu");

  m.def(
      "import_group_ir",
      [](const TorchGraph& g, const std::vector<int32_t>& nodes, const std::vector<int32_t>& inputs,
         const std::vector<int32_t>& outputs, const std::string& f32_compute, bool truncate_double) {
        Graph ir = check(import_group(g, group_io(nodes, inputs, outputs),
                                      import_options(f32_compute, truncate_double)));
        return print_graph(ir);
      },
      nb::arg("graph"), nb::arg("nodes"), nb::arg("inputs"), nb::arg("outputs"),
      nb::arg("f32_compute") = "f32", nb::arg("truncate_double") = false,
      "The kiln IR text of one group, before passes (for debugging converters).");

  m.def(
      "build_group",
      [](const TorchGraph& g, const std::vector<int32_t>& nodes, const std::vector<int32_t>& inputs,
         const std::vector<int32_t>& outputs, const std::string& f32_compute, bool truncate_double,
         const std::string& device, bool use_cuda_graphs,
         const std::vector<int32_t>& channels_last_inputs) {
        BuildOptions options;
        options.passes = pass_manager_options_from_env();
        options.device = device_kind(device);
        options.use_cuda_graphs = use_cuda_graphs;
        std::vector<uint8_t> bytes;
        Status status;
        {
          nb::gil_scoped_release release;
          status = [&]() -> Status {
            KILN_ASSIGN_OR_RETURN(
                Graph ir, import_group(g, group_io(nodes, inputs, outputs, channels_last_inputs),
                                       import_options(f32_compute, truncate_double)));
            KILN_ASSIGN_OR_RETURN(EngineContents contents, build_engine(std::move(ir), options));
            KILN_ASSIGN_OR_RETURN(bytes, write_engine(contents));
            return ok_status();
          }();
        }
        check(status);
        return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      nb::arg("graph"), nb::arg("nodes"), nb::arg("inputs"), nb::arg("outputs"),
      nb::arg("f32_compute"), nb::arg("truncate_double"), nb::arg("device"),
      nb::arg("use_cuda_graphs") = false, nb::arg("channels_last_inputs") = std::vector<int32_t>{},
      "Imports one group, runs the passes and builds its engine file (bytes). Inputs at the\n"
      "positions in channels_last_inputs arrive as x.permute(0, 2, 3, 1) of channels-last tensors.");
}

}  // namespace kiln
