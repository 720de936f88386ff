// Helpers shared by the shape_inference_*.cc files (one per op family) and the per-family entry
// points that shape_inference.cc dispatches to. Private to src/ir: nothing outside shape inference
// includes this header.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln::shape_detail {

using Types = std::vector<TensorType>;

// The op being typed and its inputs (null for an absent optional input). Attributes have already
// been checked to be of the op's kind and, in concrete mode, had their DimExprs evaluated.
struct Ctx {
  OpKind op;
  std::span<const TensorType* const> in;

  std::string_view name() const { return op_name(op); }
  const TensorType& x(size_t i) const { return *in[i]; }
  // Null when absent or beyond the inputs given.
  const TensorType* opt(size_t i) const { return i < in.size() ? in[i] : nullptr; }
  // InvalidArgument "<op>: <message>".
  template <typename... Args>
  Status error(const Args&... args) const {
    return invalid_argument(name(), ": ", args...);
  }
};

// Text of dims, shapes and types with symbols printed as s<i> (symbol names are not known here).
std::string dim_str(const DimExpr& d);
std::string shape_str(const Shape& s);
std::string type_str(const TensorType& t);

// Which dtypes an operand accepts. f64 is never accepted (cast checks its input itself).
enum class Accept {
  kFloat,    // f32, f16, bf16
  kNumeric,  // float or integer
  kBool,     // bool only
  kIndex,    // i64 or i32
  kAny,      // anything but f64
};
Status check_dtype(const Ctx& c, const TensorType& t, std::string_view what, Accept accept);
// An empty b_what words the message as "<a_what> must have the same dtype".
Status check_same_dtype(const Ctx& c, const TensorType& a, std::string_view a_what,
                        const TensorType& b, std::string_view b_what);
Status check_rank(const Ctx& c, const TensorType& t, std::string_view what, int64_t min_rank,
                  int64_t max_rank);

// Axis in [-rank, rank) mapped to [0, rank).
Expected<int64_t> normalize_axis(const Ctx& c, int64_t axis, int64_t rank,
                                 std::string_view what = "axis");

// Two dims that must describe the same size. Equal dims give that dim; a symbolic dim against a
// constant gives the constant (the runtime re-checks with concrete sizes); two different constants
// or two structurally different symbolic dims give nullopt.
std::optional<DimExpr> merge_dims(const DimExpr& a, const DimExpr& b);
// numpy broadcasting of two shapes (right-aligned; a constant 1 stretches).
Expected<Shape> broadcast_shapes(const Ctx& c, const Shape& a, const Shape& b);

bool is_const(const DimExpr& d, int64_t v);
// num / den when it divides exactly term by term (den a single term, e.g. 3*s0), else nullopt.
std::optional<DimExpr> exact_divide(const DimExpr& num, const DimExpr& den);

// Per family entry points. Each validates operands beyond the counts checked by the dispatcher.
Expected<Types> infer_constant(const Ctx& c, const ConstantAttrs& a);
Expected<Types> infer_full(const Ctx& c, const FullAttrs& a);
Expected<Types> infer_arange(const Ctx& c, const ArangeAttrs& a);
Expected<Types> infer_unary(const Ctx& c, Accept accept);
Expected<Types> infer_isnan(const Ctx& c);
Expected<Types> infer_cast(const Ctx& c, const CastAttrs& a);
Expected<Types> infer_clamp(const Ctx& c, const ClampAttrs& a);
Expected<Types> infer_binary(const Ctx& c, Accept accept, bool to_bool);
Expected<Types> infer_div(const Ctx& c, const DivAttrs& a);
Expected<Types> infer_where(const Ctx& c);
Expected<Types> infer_reduce(const Ctx& c, const std::vector<int64_t>& axes, bool keepdim,
                             Accept accept);
Expected<Types> infer_arg_reduce(const Ctx& c, const ArgReduceAttrs& a);
Expected<Types> infer_cumsum(const Ctx& c, const AxisAttrs& a);
Expected<Types> infer_topk(const Ctx& c, const TopKAttrs& a);

Expected<Types> infer_matmul(const Ctx& c);
Expected<Types> infer_linear(const Ctx& c);
Expected<Types> infer_conv(const Ctx& c, const ConvAttrs& a);
Expected<Types> infer_conv_transpose(const Ctx& c, const ConvTransposeAttrs& a);
Expected<Types> infer_batch_norm(const Ctx& c, const BatchNormAttrs& a);
Expected<Types> infer_norm(const Ctx& c, const NormAttrs& a);
Expected<Types> infer_group_norm(const Ctx& c, const GroupNormAttrs& a);
Expected<Types> infer_softmax(const Ctx& c, const AxisAttrs& a);
Expected<Types> infer_attention(const Ctx& c, const AttentionAttrs& a);
Expected<Types> infer_pool(const Ctx& c, const PoolAttrs& a);
Expected<Types> infer_adaptive_pool(const Ctx& c, const AdaptivePoolAttrs& a);
Expected<Types> infer_resize(const Ctx& c, const ResizeAttrs& a);

Expected<Types> infer_reshape(const Ctx& c, const ReshapeAttrs& a);
Expected<Types> infer_permute(const Ctx& c, const PermuteAttrs& a);
Expected<Types> infer_expand(const Ctx& c, const ExpandAttrs& a);
Expected<Types> infer_slice(const Ctx& c, const SliceAttrs& a);
Expected<Types> infer_concat(const Ctx& c, const AxisAttrs& a);
Expected<Types> infer_split(const Ctx& c, const SplitAttrs& a);
Expected<Types> infer_take(const Ctx& c, const AxisAttrs& a);
Expected<Types> infer_gather(const Ctx& c, const AxisAttrs& a);
Expected<Types> infer_pad(const Ctx& c, const PadAttrs& a);
Expected<Types> infer_tile(const Ctx& c, const TileAttrs& a);
Expected<Types> infer_flip(const Ctx& c, const AxesAttrs& a);
Expected<Types> infer_roll(const Ctx& c, const RollAttrs& a);
Expected<Types> infer_trilu(const Ctx& c, const TriluAttrs& a);

}  // namespace kiln::shape_detail
