// What converter families see: the ImportContext (metadata lookups for capability checks, graph
// building for conversions) and the Converter record that pairs one ATen overload with its
// conversion and its capability check. Internal to src/importer.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/importer/importer.h"
#include "kiln/ir/graph.h"

namespace kiln::importer {

class ImportContext {
 public:
  // `graph` is null for capability checks (building methods must not be called then).
  ImportContext(const TorchGraph& tg, const ImportOptions& options, Graph* graph);

  const TorchGraph& torch() const { return tg_; }
  const ImportOptions& options() const { return options_; }

  // ---- Metadata (checks and conversions) ----
  // The metadata behind an argument: a node reference gives that node's meta, anything else itself.
  const TorchValue& meta(const TorchValue& arg) const;
  bool is_tensor(const TorchValue& arg) const { return meta(arg).kind == TorchValue::Kind::kTensor; }
  // Rank of a tensor argument, -1 if it is not a tensor.
  int64_t rank_of(const TorchValue& arg) const;
  // The engine dtype for a torch dtype name, after f32_compute and truncate_double; nullopt for
  // dtypes engines do not hold (float64 without truncate_double, complex, ...).
  std::optional<DType> engine_dtype(std::string_view torch_name) const;
  std::optional<DType> lower(DType raw) const;
  // The dtype of an engine input or output for a torch dtype: its own, f64 truncated to f32.
  static std::optional<DType> boundary_dtype(std::string_view torch_name);  // the same for a dtype already known to kiln
  // Engine dtype of a tensor argument (or of a tensor metadata value).
  Expected<DType> dtype_of(const TorchValue& arg) const;
  // Engine dtype of output k of the node being looked at (meta kTensor or a list of them).
  Expected<DType> out_dtype(const TorchNode& n, size_t k = 0) const;
  // torch.result_type over tensor and scalar operands (torch's promotion: dimensioned tensors, then
  // zero-dim tensors, then Python scalars, each only where it raises the category).
  Expected<DType> result_type(std::span<const TorchValue> operands) const;
  // A static int / list of static ints, or nullopt (symbolic, node reference, other kinds).
  static std::optional<int64_t> static_int(const TorchValue& v);
  static std::optional<std::vector<int64_t>> static_ints(const TorchValue& v);
  // Whether every dim of a tensor argument is a static int.
  bool is_static(const TorchValue& arg) const;

  // ---- Building (conversions only) ----
  Graph& graph() { return *graph_; }
  // The IR value of a tensor argument (engine input, earlier node, or a weight from get_attr).
  Expected<ValueId> tensor(const TorchValue& arg);
  // As tensor(), cast to `dtype`; Python scalars (kInt, kFloat, kBool) become 0-d constants.
  Expected<ValueId> tensor(const TorchValue& arg, DType dtype);
  // An integer from an int, a SymInt, or a node whose value is a SymInt.
  Expected<DimExpr> dim(const TorchValue& arg);
  Expected<Shape> dims(const TorchValue& list);
  // A symbolic shape from tensor metadata.
  Expected<Shape> shape_of(const TorchValue& arg);
  Expected<ValueId> add(OpKind op, std::vector<ValueId> inputs, Attrs attrs = NoAttrs{});
  Expected<std::vector<ValueId>> add_multi(OpKind op, std::vector<ValueId> inputs, Attrs attrs);
  Expected<ValueId> cast(ValueId v, DType to);  // no node if already `to`
  Expected<ValueId> scalar(double value, DType dtype);  // a 0-d constant
  // A copy, not a reference: adding nodes reallocates the graph's values (a reference held across
  // ctx.add() once dangled and crashed an import).
  TensorType type(ValueId v) const { return graph_->type(v); }

  // The values of the node being converted (one, or one per tuple element for getitem).
  void set_output(ValueId v) { outputs_[current_] = {v}; }
  void set_outputs(std::vector<ValueId> vs) { outputs_[current_] = std::move(vs); }
  const std::vector<ValueId>* outputs_of(int32_t node) const;

  // Used by import_group.
  void begin_node(int32_t index);
  Status bind_input(int32_t node);  // adds an engine input for this node's tensor
  Status map_symbols(std::span<const int32_t> input_nodes);

 private:
  Expected<DimExpr> sym_expr(const TorchValue& v) const;

  const TorchGraph& tg_;
  ImportOptions options_;
  Graph* graph_;
  int32_t current_ = -1;
  std::unordered_map<int32_t, std::vector<ValueId>> outputs_;  // FX node -> IR values
  std::unordered_map<std::string, DimExpr> symbols_;           // torch symbol -> engine dim
};

// A converter's capability check: "" if the node can be converted, else why not (in words).
using CheckFn = std::string (*)(const ImportContext&, const TorchNode&);
// Adds the IR nodes for one FX node and sets its output value(s).
using ConvertFn = Status (*)(ImportContext&, const TorchNode&);

struct Converter {
  const char* target;  // "aten.add.Tensor"
  ConvertFn convert;
  CheckFn check = nullptr;  // nullptr: every node the generic checks let through
};

// Converter families, one per file in src/importer; registry.cc lists them.
std::span<const Converter> elementwise_converters();
std::span<const Converter> activation_converters();
std::span<const Converter> reduce_converters();
std::span<const Converter> linalg_converters();
std::span<const Converter> conv_pool_converters();
std::span<const Converter> norm_converters();
std::span<const Converter> shape_converters();
std::span<const Converter> indexing_converters();
std::span<const Converter> creation_converters();

// The converter for a target, or nullptr.
const Converter* find_converter(std::string_view target);

// Argument i of a node, or a None value if the node has fewer.
const TorchValue& arg(const TorchNode& n, size_t i);

// A dim index wrapped against `rank` as torch wraps it (a 0-d tensor takes dims 0 and -1), or
// nullopt if out of range.
std::optional<int64_t> wrap_dim(int64_t d, int64_t rank);
// Whether an argument is an integer ctx.dim() can read (an int, a SymInt, a node producing one).
bool is_int_like(const ImportContext& ctx, const TorchValue& v);
// The value of a constant number argument (int, float or bool), or nullopt.
std::optional<double> number_arg(const TorchValue& v);
// torch's shape of a tensor metadata value over the engine's symbols, or nullopt.
std::optional<Shape> meta_shape(ImportContext& ctx, const TorchValue& meta);
// x reshaped to `shape` (no node when it already has it).
Expected<ValueId> reshape_to(ImportContext& ctx, ValueId x, Shape shape);

}  // namespace kiln::importer
