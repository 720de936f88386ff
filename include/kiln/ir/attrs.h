// Typed attribute structs, one per kind of op parameters. Each struct lists its fields once in
// KILN_FIELDS(...); the printer, parser, engine serializer, equality and hashing all walk that list,
// so adding a field is a one-line change. Field types are limited to those in AttrField below.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "kiln/ir/dim_expr.h"
#include "kiln/ir/dtype.h"

namespace kiln {

// Constant tensor bytes, shared and immutable. `bytes` may point into a larger buffer (an engine
// file) kept alive by the shared_ptr's control block.
struct TensorData {
  std::shared_ptr<const uint8_t> bytes;
  size_t size = 0;
  const uint8_t* data() const { return bytes.get(); }
  static TensorData copy_of(const void* src, size_t size);
};

// Enumerations used by attributes, each with its text names in order.
enum class GeluApprox : uint8_t { kNone, kTanh };
enum class DivRounding : uint8_t { kNone, kTrunc, kFloor };
enum class PadMode : uint8_t { kConstant, kReflect, kReplicate };
enum class ResizeMode : uint8_t { kNearest, kBilinear };
// A pointwise activation fused into a conv or linear (the fuse-epilogues pass): applied after bias
// and residual. gelu is the exact (erf) form, gelu_tanh torch's approximate="tanh".
enum class Activation : uint8_t { kNone, kRelu, kSilu, kGelu, kGeluTanh };

template <typename E>
struct EnumNames;
template <>
struct EnumNames<GeluApprox> {
  static constexpr std::string_view kNames[] = {"none", "tanh"};
};
template <>
struct EnumNames<DivRounding> {
  static constexpr std::string_view kNames[] = {"none", "trunc", "floor"};
};
template <>
struct EnumNames<PadMode> {
  static constexpr std::string_view kNames[] = {"constant", "reflect", "replicate"};
};
template <>
struct EnumNames<ResizeMode> {
  static constexpr std::string_view kNames[] = {"nearest", "bilinear"};
};
template <>
struct EnumNames<Activation> {
  static constexpr std::string_view kNames[] = {"none", "relu", "silu", "gelu", "gelu_tanh"};
};

// KILN_FIELDS(a, b, c) defines visit(v) calling v("a", a), v("b", b), v("c", c), const and not.
#define KILN_FE_1(m, x) m(x)
#define KILN_FE_2(m, x, ...) m(x) KILN_FE_1(m, __VA_ARGS__)
#define KILN_FE_3(m, x, ...) m(x) KILN_FE_2(m, __VA_ARGS__)
#define KILN_FE_4(m, x, ...) m(x) KILN_FE_3(m, __VA_ARGS__)
#define KILN_FE_5(m, x, ...) m(x) KILN_FE_4(m, __VA_ARGS__)
#define KILN_FE_6(m, x, ...) m(x) KILN_FE_5(m, __VA_ARGS__)
#define KILN_FE_7(m, x, ...) m(x) KILN_FE_6(m, __VA_ARGS__)
#define KILN_FE_8(m, x, ...) m(x) KILN_FE_7(m, __VA_ARGS__)
#define KILN_FE_PICK_(_1, _2, _3, _4, _5, _6, _7, _8, name, ...) name
#define KILN_FOR_EACH_(m, ...)                                                                   \
  KILN_FE_PICK_(__VA_ARGS__, KILN_FE_8, KILN_FE_7, KILN_FE_6, KILN_FE_5, KILN_FE_4, KILN_FE_3, \
                KILN_FE_2, KILN_FE_1)(m, __VA_ARGS__)
#define KILN_VISIT_FIELD_(f) v(#f, f);
#define KILN_FIELDS(...)                                         \
  template <typename V>                                          \
  void visit(V&& v) {                                            \
    KILN_FOR_EACH_(KILN_VISIT_FIELD_, __VA_ARGS__)               \
  }                                                              \
  template <typename V>                                          \
  void visit(V&& v) const {                                      \
    KILN_FOR_EACH_(KILN_VISIT_FIELD_, __VA_ARGS__)               \
  }

// Field types an attribute may have:
//   int64_t, double, bool, DType, std::vector<int64_t>, std::vector<double>, DimExpr,
//   std::vector<DimExpr>, std::optional<double>, std::optional<int64_t>, TensorData, and the enums
//   above (anything with EnumNames).

struct NoAttrs {
  template <typename V>
  void visit(V&&) const {}
  template <typename V>
  void visit(V&&) {}
};

struct ConstantAttrs {  // row-major bytes of a tensor of this dtype and static shape
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  TensorData data;
  KILN_FIELDS(dtype, shape, data)
};
struct FullAttrs {
  Shape shape;
  double value = 0;
  DType dtype = DType::kF32;
  KILN_FIELDS(shape, value, dtype)
};
struct ArangeAttrs {
  double start = 0;
  double step = 1;
  DimExpr length;
  DType dtype = DType::kI64;
  KILN_FIELDS(start, step, length, dtype)
};
struct GeluAttrs {
  GeluApprox approximate = GeluApprox::kNone;
  KILN_FIELDS(approximate)
};
struct SoftplusAttrs {  // x*beta > threshold gives x
  double beta = 1;
  double threshold = 20;
  KILN_FIELDS(beta, threshold)
};
struct LeakyReluAttrs {
  double negative_slope = 0.01;
  KILN_FIELDS(negative_slope)
};
struct EluAttrs {
  double alpha = 1;
  KILN_FIELDS(alpha)
};
struct ClampAttrs {  // either bound may be absent
  std::optional<double> min;
  std::optional<double> max;
  KILN_FIELDS(min, max)
};
struct CastAttrs {
  DType to = DType::kF32;
  KILN_FIELDS(to)
};
struct DivAttrs {
  DivRounding rounding = DivRounding::kNone;
  KILN_FIELDS(rounding)
};
struct ReduceAttrs {  // empty axes: all axes; negative axes count from the end
  std::vector<int64_t> axes;
  bool keepdim = false;
  KILN_FIELDS(axes, keepdim)
};
struct VarAttrs {
  std::vector<int64_t> axes;
  bool keepdim = false;
  double correction = 1;
  KILN_FIELDS(axes, keepdim, correction)
};
struct ArgReduceAttrs {
  int64_t axis = 0;
  bool keepdim = false;
  KILN_FIELDS(axis, keepdim)
};
struct AxisAttrs {
  int64_t axis = 0;
  KILN_FIELDS(axis)
};
struct AxesAttrs {
  std::vector<int64_t> axes;
  KILN_FIELDS(axes)
};
struct TopKAttrs {
  int64_t k = 1;
  int64_t axis = -1;
  bool largest = true;
  KILN_FIELDS(k, axis, largest)
};
// One entry per spatial dim. y = activation(conv(x, w) + bias + residual). channels_last: x is
// [N, *spatial, C], w is [O, *kernel, C/g], y and residual are [N, *spatial', O] (the layout pass
// chooses it on CUDA); otherwise x is [N, C, *spatial], w [O, C/g, *kernel], y [N, O, *spatial'].
struct ConvAttrs {
  std::vector<int64_t> stride;
  std::vector<int64_t> padding;
  std::vector<int64_t> dilation;
  int64_t groups = 1;
  Activation activation = Activation::kNone;
  bool channels_last = false;
  KILN_FIELDS(stride, padding, dilation, groups, activation, channels_last)
};
struct ConvTransposeAttrs {
  std::vector<int64_t> stride;
  std::vector<int64_t> padding;
  std::vector<int64_t> output_padding;
  std::vector<int64_t> dilation;
  int64_t groups = 1;
  KILN_FIELDS(stride, padding, output_padding, dilation, groups)
};
struct LinearAttrs {  // y = activation(x @ w^T + bias)
  Activation activation = Activation::kNone;
  KILN_FIELDS(activation)
};
struct BatchNormAttrs {  // channels on axis 1
  double eps = 1e-5;
  KILN_FIELDS(eps)
};
struct NormAttrs {  // normalises over dims [axis, rank); weight and bias have that trailing shape
  int64_t axis = -1;
  double eps = 1e-5;
  KILN_FIELDS(axis, eps)
};
struct GroupNormAttrs {
  int64_t groups = 1;
  double eps = 1e-5;
  KILN_FIELDS(groups, eps)
};
// scale absent: 1/sqrt(E); mask: bool (true = keep) or additive float, broadcastable to
// [B, H, Lq, Lk] in either layout. bshd: q, k, v and the output are [B, L, H, E] (rank 4 only)
// instead of [..., H, L, E], so a linear's reshaped output feeds attention without a permute.
struct AttentionAttrs {
  bool is_causal = false;
  std::optional<double> scale;
  bool bshd = false;
  KILN_FIELDS(is_causal, scale, bshd)
};
// max_pool uses dilation; avg_pool uses count_include_pad and divisor_override. channels_last: x
// and y are [N, *spatial, C] instead of [N, C, *spatial].
struct PoolAttrs {
  std::vector<int64_t> kernel;
  std::vector<int64_t> stride;
  std::vector<int64_t> padding;
  std::vector<int64_t> dilation;
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::optional<int64_t> divisor_override;
  bool channels_last = false;
  KILN_FIELDS(kernel, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override,
              channels_last)
};
struct AdaptivePoolAttrs {
  std::vector<int64_t> output_size;
  KILN_FIELDS(output_size)
};
struct ResizeAttrs {  // size: the spatial output dims; scales (optional) as torch's scale_factor
  ResizeMode mode = ResizeMode::kNearest;
  bool align_corners = false;
  Shape size;
  std::vector<double> scales;
  KILN_FIELDS(mode, align_corners, size, scales)
};
struct ReshapeAttrs {
  Shape shape;
  KILN_FIELDS(shape)
};
struct PermuteAttrs {
  std::vector<int64_t> perm;
  KILN_FIELDS(perm)
};
struct ExpandAttrs {
  Shape shape;
  KILN_FIELDS(shape)
};
struct SliceAttrs {  // start/end as in Python slicing: negative counts from the end, clamped
  int64_t axis = 0;
  DimExpr start;
  DimExpr end;
  int64_t step = 1;
  KILN_FIELDS(axis, start, end, step)
};
struct SplitAttrs {
  int64_t axis = 0;
  Shape sizes;
  KILN_FIELDS(axis, sizes)
};
struct PadAttrs {  // pads: [before_0, after_0, before_1, after_1, ...] over all axes; may be negative
  std::vector<int64_t> pads;
  PadMode mode = PadMode::kConstant;
  double value = 0;
  KILN_FIELDS(pads, mode, value)
};
struct TileAttrs {
  std::vector<int64_t> repeats;
  KILN_FIELDS(repeats)
};
struct RollAttrs {
  std::vector<int64_t> shifts;
  std::vector<int64_t> axes;
  KILN_FIELDS(shifts, axes)
};
struct TriluAttrs {  // upper: keep j - i >= diagonal; lower: keep j - i <= diagonal
  bool upper = false;
  int64_t diagonal = 0;
  KILN_FIELDS(upper, diagonal)
};

// Every attribute struct but NoAttrs, once. The variant below and the engine format derive from it.
#define KILN_ATTRS_LIST(X)                                                                       \
  X(ConstantAttrs) X(FullAttrs) X(ArangeAttrs) X(GeluAttrs) X(SoftplusAttrs)         \
  X(LeakyReluAttrs) X(EluAttrs) X(ClampAttrs) X(CastAttrs) X(DivAttrs) X(ReduceAttrs)            \
  X(VarAttrs) X(ArgReduceAttrs) X(AxisAttrs) X(AxesAttrs) X(TopKAttrs) X(ConvAttrs)              \
  X(LinearAttrs) X(ConvTransposeAttrs) X(BatchNormAttrs) X(NormAttrs) X(GroupNormAttrs) X(AttentionAttrs)       \
  X(PoolAttrs) X(AdaptivePoolAttrs) X(ResizeAttrs) X(ReshapeAttrs) X(PermuteAttrs)                \
  X(ExpandAttrs) X(SliceAttrs) X(SplitAttrs) X(PadAttrs) X(TileAttrs) X(RollAttrs) X(TriluAttrs)

#define KILN_ATTRS_VARIANT_(T) , T
using Attrs = std::variant<NoAttrs KILN_ATTRS_LIST(KILN_ATTRS_VARIANT_)>;
#undef KILN_ATTRS_VARIANT_

// Structural equality and hash of attributes (used by CSE). TensorData compares by content.
bool attrs_equal(const Attrs& a, const Attrs& b);
size_t attrs_hash(const Attrs& a);

}  // namespace kiln
