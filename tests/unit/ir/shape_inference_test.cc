// Shape inference: each op family's rule on symbolic and static shapes, concrete (runtime) mode,
// and the errors for bad operand counts, dtypes, ranks and broadcasts.
#include "kiln/ir/shape_inference.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kiln {
namespace {

const DimExpr s0 = DimExpr::symbol(0);
const DimExpr s1 = DimExpr::symbol(1);
constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();

TensorType T(DType d, Shape s) { return TensorType{d, std::move(s)}; }
TensorType F32(Shape s) { return T(DType::kF32, std::move(s)); }

std::string text(const TensorType& t) {
  std::string out = std::string(dtype_name(t.dtype)) + "[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) out += ", ";
    out += t.shape[i].to_string([](int32_t s) { return "s" + std::to_string(s); });
  }
  return out + "]";
}

// Infers and prints the outputs ("f32[s0, 3]", joined by "; "), or "error: <status>".
std::string infer(OpKind op, Attrs attrs, std::vector<const TensorType*> in,
                  const std::vector<int64_t>* symbol_values = nullptr) {
  Expected<std::vector<TensorType>> r = infer_output_types(op, attrs, in, symbol_values);
  if (!r.ok()) return "error: " + r.status().to_string();
  std::string out;
  for (const TensorType& t : *r) out += (out.empty() ? "" : "; ") + text(t);
  return out;
}

// The error message (without the code) of a failing inference; "" if it succeeded.
std::string error_of(OpKind op, Attrs attrs, std::vector<const TensorType*> in) {
  Expected<std::vector<TensorType>> r = infer_output_types(op, attrs, in, nullptr);
  return r.ok() ? "" : r.status().message();
}

TEST(ShapeInferenceTest, EveryOpHasARuleAndChecksOperandCounts) {
  // With no inputs, every op either infers (sources; a default constant has no data) or reports
  // a bad operand count; none falls through to an internal error or "not written".
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind op = static_cast<OpKind>(i);
    Expected<std::vector<TensorType>> r = infer_output_types(op, default_attrs(op), {}, nullptr);
    if (op == OpKind::kConstant) {
      EXPECT_EQ(r.status().message(), "constant: data holds 0 bytes but f32[] needs 4");
    } else if (op_info(op).min_inputs == 0) {
      EXPECT_TRUE(r.ok()) << op_name(op) << ": " << r.status().to_string();
    } else {
      ASSERT_FALSE(r.ok()) << op_name(op);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << op_name(op);
      EXPECT_NE(r.status().message().find("inputs, got 0"), std::string::npos)
          << r.status().message();
    }
  }
}

TEST(ShapeInferenceTest, OperandCountsOptionalInputsAndAttributeKinds) {
  TensorType x = F32({2, 3});
  EXPECT_EQ(error_of(OpKind::kAdd, NoAttrs{}, {&x}), "add: expected 2 inputs, got 1");
  EXPECT_EQ(error_of(OpKind::kLinear, LinearAttrs{}, {&x, &x, &x, &x}),
            "linear: expected 2 to 3 inputs, got 4");
  TensorType w = F32({4, 3});
  EXPECT_EQ(infer(OpKind::kLinear, LinearAttrs{}, {&x, &w, nullptr}), "f32[2, 4]");
  EXPECT_EQ(error_of(OpKind::kLinear, LinearAttrs{}, {&x, nullptr}),
            "linear: input 1 is required but absent");
  EXPECT_EQ(error_of(OpKind::kConcat, AxisAttrs{0}, {&x, nullptr}),
            "concat: input 1 is required but absent");
  EXPECT_NE(error_of(OpKind::kAdd, ConvAttrs{}, {&x, &x}).find("attributes of the wrong kind"),
            std::string::npos);
}

TEST(ShapeInferenceTest, Sources) {
  ConstantAttrs c;
  c.dtype = DType::kF16;
  c.shape = {2, 3};
  std::vector<uint8_t> bytes(12, 0);
  c.data = TensorData::copy_of(bytes.data(), bytes.size());
  EXPECT_EQ(infer(OpKind::kConstant, c, {}), "f16[2, 3]");
  c.dtype = DType::kF32;
  EXPECT_EQ(error_of(OpKind::kConstant, c, {}),
            "constant: data holds 12 bytes but f32[2, 3] needs 24");
  c.dtype = DType::kF64;
  c.shape = {3, 1};
  std::vector<uint8_t> bytes24(24, 0);
  c.data = TensorData::copy_of(bytes24.data(), bytes24.size());
  EXPECT_NE(error_of(OpKind::kConstant, c, {}).find("f64"), std::string::npos);

  EXPECT_EQ(infer(OpKind::kFull, FullAttrs{{s0, 4}, 1.5, DType::kBF16}, {}), "bf16[s0, 4]");
  EXPECT_EQ(infer(OpKind::kArange, ArangeAttrs{0, 1, s1 - 1, DType::kI64}, {}), "i64[s1 - 1]");
  EXPECT_EQ(error_of(OpKind::kArange, ArangeAttrs{0, 1, -2, DType::kI64}, {}),
            "arange: length must be >= 0, got -2");
}

TEST(ShapeInferenceTest, UnaryDtypes) {
  TensorType f = F32({s0, 3});
  TensorType i = T(DType::kI32, {4});
  TensorType b = T(DType::kBool, {4});
  TensorType d = T(DType::kF64, {4});
  EXPECT_EQ(infer(OpKind::kExp, NoAttrs{}, {&f}), "f32[s0, 3]");
  EXPECT_EQ(error_of(OpKind::kExp, NoAttrs{}, {&i}),
            "exp: input must be a float tensor (f32, f16 or bf16), got i32[4]");
  EXPECT_EQ(infer(OpKind::kNeg, NoAttrs{}, {&i}), "i32[4]");
  EXPECT_EQ(infer(OpKind::kRelu, NoAttrs{}, {&i}), "i32[4]");
  EXPECT_EQ(infer(OpKind::kClamp, ClampAttrs{0.0, 6.0}, {&f}), "f32[s0, 3]");
  EXPECT_EQ(error_of(OpKind::kClamp, ClampAttrs{6.0, 0.0}, {&f}),
            "clamp: min 6 is greater than max 0");
  EXPECT_EQ(infer(OpKind::kIsNan, NoAttrs{}, {&f}), "bool[s0, 3]");
  EXPECT_EQ(infer(OpKind::kLogicalNot, NoAttrs{}, {&b}), "bool[4]");
  EXPECT_EQ(error_of(OpKind::kLogicalNot, NoAttrs{}, {&i}),
            "logical_not: input must be a bool tensor, got i32[4]");
  EXPECT_EQ(error_of(OpKind::kRelu, NoAttrs{}, {&b}),
            "relu: input must be a float or integer tensor, got bool[4]");
  // f64 only enters through cast.
  EXPECT_NE(error_of(OpKind::kNeg, NoAttrs{}, {&d}).find("f64"), std::string::npos);
  EXPECT_EQ(infer(OpKind::kCast, CastAttrs{DType::kF32}, {&d}), "f32[4]");
  EXPECT_EQ(infer(OpKind::kCast, CastAttrs{DType::kBool}, {&f}), "bool[s0, 3]");
}

TEST(ShapeInferenceTest, BinaryBroadcasting) {
  TensorType a = F32({s0, 1, 4});
  TensorType b = F32({3, 1});
  EXPECT_EQ(infer(OpKind::kAdd, NoAttrs{}, {&a, &b}), "f32[s0, 3, 4]");
  TensorType scalar = F32({});
  EXPECT_EQ(infer(OpKind::kMul, NoAttrs{}, {&scalar, &a}), "f32[s0, 1, 4]");
  // A symbolic dim against a static one gives the static one.
  TensorType sym = F32({s0});
  TensorType five = F32({5});
  EXPECT_EQ(infer(OpKind::kSub, NoAttrs{}, {&sym, &five}), "f32[5]");
  EXPECT_EQ(infer(OpKind::kSub, NoAttrs{}, {&five, &sym}), "f32[5]");
  // Equal symbolic expressions broadcast; different ones and different constants do not.
  TensorType e1 = F32({s0 * 2, s1});
  TensorType e2 = F32({s0 + s0, 1});
  EXPECT_EQ(infer(OpKind::kAdd, NoAttrs{}, {&e1, &e2}), "f32[2*s0, s1]");
  TensorType x23 = F32({2, 3});
  TensorType x43 = F32({4, 3});
  EXPECT_EQ(error_of(OpKind::kAdd, NoAttrs{}, {&x23, &x43}),
            "add: shapes [2, 3] and [4, 3] do not broadcast (dim 2 against 4)");
  TensorType y0 = F32({s0});
  TensorType y1 = F32({s1});
  EXPECT_EQ(error_of(OpKind::kMaximum, NoAttrs{}, {&y0, &y1}),
            "maximum: shapes [s0] and [s1] do not broadcast (dim s0 against s1)");
}

TEST(ShapeInferenceTest, BinaryDtypes) {
  TensorType f = F32({2});
  TensorType h = T(DType::kF16, {2});
  TensorType i = T(DType::kI64, {2});
  TensorType b = T(DType::kBool, {2});
  EXPECT_EQ(error_of(OpKind::kAdd, NoAttrs{}, {&f, &h}),
            "add: both operands must have the same dtype, got f32[2] and f16[2]");
  EXPECT_EQ(infer(OpKind::kAdd, NoAttrs{}, {&i, &i}), "i64[2]");
  EXPECT_EQ(infer(OpKind::kLess, NoAttrs{}, {&h, &h}), "bool[2]");
  EXPECT_EQ(infer(OpKind::kEqual, NoAttrs{}, {&b, &b}), "bool[2]");
  EXPECT_EQ(infer(OpKind::kLogicalAnd, NoAttrs{}, {&b, &b}), "bool[2]");
  EXPECT_EQ(error_of(OpKind::kLogicalOr, NoAttrs{}, {&f, &f}),
            "logical_or: lhs must be a bool tensor, got f32[2]");
  EXPECT_EQ(error_of(OpKind::kPow, NoAttrs{}, {&i, &i}),
            "pow: lhs must be a float tensor (f32, f16 or bf16), got i64[2]");
  EXPECT_NE(error_of(OpKind::kDiv, DivAttrs{DivRounding::kNone}, {&i, &i}).find("float dtype"),
            std::string::npos);
  EXPECT_EQ(infer(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&i, &i}), "i64[2]");
}

TEST(ShapeInferenceTest, Where) {
  TensorType cond = T(DType::kBool, {s0, 1, s1});
  TensorType a = F32({1, 8, 1});
  TensorType b = F32({});
  EXPECT_EQ(infer(OpKind::kWhere, NoAttrs{}, {&cond, &a, &b}), "f32[s0, 8, s1]");
  EXPECT_EQ(error_of(OpKind::kWhere, NoAttrs{}, {&a, &a, &b}),
            "where: condition must be a bool tensor, got f32[1, 8, 1]");
  TensorType h = T(DType::kF16, {});
  EXPECT_EQ(error_of(OpKind::kWhere, NoAttrs{}, {&cond, &a, &h}),
            "where: both branches must have the same dtype, got f32[1, 8, 1] and f16[]");
}

TEST(ShapeInferenceTest, Reductions) {
  TensorType x = F32({s0, 4, 5});
  EXPECT_EQ(infer(OpKind::kReduceSum, ReduceAttrs{{-1}, false}, {&x}), "f32[s0, 4]");
  EXPECT_EQ(infer(OpKind::kReduceMean, ReduceAttrs{{0, 2}, true}, {&x}), "f32[1, 4, 1]");
  EXPECT_EQ(infer(OpKind::kReduceMax, ReduceAttrs{{}, false}, {&x}), "f32[]");
  EXPECT_EQ(error_of(OpKind::kReduceSum, ReduceAttrs{{1, -2}, false}, {&x}),
            "reduce_sum: axis -2 is listed twice");
  EXPECT_EQ(error_of(OpKind::kReduceSum, ReduceAttrs{{3}, false}, {&x}),
            "reduce_sum: axis 3 is out of range for rank 3 (expected [-3, 3))");
  TensorType i = T(DType::kI32, {6, 2});
  EXPECT_EQ(infer(OpKind::kReduceProd, ReduceAttrs{{0}, false}, {&i}), "i32[2]");
  EXPECT_NE(error_of(OpKind::kReduceMean, ReduceAttrs{{0}, false}, {&i}).find("float"),
            std::string::npos);
  EXPECT_EQ(infer(OpKind::kVar, VarAttrs{{1}, true, 1.0}, {&x}), "f32[s0, 1, 5]");
  EXPECT_EQ(infer(OpKind::kArgMax, ArgReduceAttrs{1, false}, {&x}), "i64[s0, 5]");
  EXPECT_EQ(infer(OpKind::kArgMin, ArgReduceAttrs{-1, true}, {&i}), "i64[6, 1]");
  EXPECT_EQ(infer(OpKind::kCumsum, AxisAttrs{-1}, {&i}), "i32[6, 2]");
  EXPECT_EQ(infer(OpKind::kTopK, TopKAttrs{3, 2, true}, {&x}), "f32[s0, 4, 3]; i64[s0, 4, 3]");
  EXPECT_EQ(error_of(OpKind::kTopK, TopKAttrs{6, -1, true}, {&x}),
            "topk: k = 6 is larger than dim 2 of f32[s0, 4, 5]");
  // A symbolic dim cannot be checked against k here; the runtime does it.
  EXPECT_EQ(infer(OpKind::kTopK, TopKAttrs{6, 0, true}, {&x}), "f32[6, 4, 5]; i64[6, 4, 5]");
}

TEST(ShapeInferenceTest, MatMul) {
  TensorType v3 = F32({3});
  TensorType m23 = F32({2, 3});
  TensorType m35 = F32({3, 5});
  TensorType b = F32({s0, 1, 2, 3});
  TensorType c = F32({4, 3, 5});
  EXPECT_EQ(infer(OpKind::kMatMul, NoAttrs{}, {&v3, &v3}), "f32[]");
  EXPECT_EQ(infer(OpKind::kMatMul, NoAttrs{}, {&m23, &v3}), "f32[2]");
  EXPECT_EQ(infer(OpKind::kMatMul, NoAttrs{}, {&v3, &m35}), "f32[5]");
  EXPECT_EQ(infer(OpKind::kMatMul, NoAttrs{}, {&v3, &c}), "f32[4, 5]");
  EXPECT_EQ(infer(OpKind::kMatMul, NoAttrs{}, {&b, &c}), "f32[s0, 4, 2, 5]");
  EXPECT_EQ(error_of(OpKind::kMatMul, NoAttrs{}, {&m35, &m23}),
            "matmul: inner dims do not match: f32[3, 5] @ f32[2, 3] (5 vs 2)");
  TensorType batch2 = F32({2, 2, 3});
  TensorType batch3 = F32({3, 3, 5});
  EXPECT_EQ(error_of(OpKind::kMatMul, NoAttrs{}, {&batch2, &batch3}),
            "matmul: shapes [2] and [3] do not broadcast (dim 2 against 3)");
}

TEST(ShapeInferenceTest, Linear) {
  TensorType x = F32({s0, 7, 16});
  TensorType w = F32({32, 16});
  TensorType bias = F32({32});
  TensorType bad_bias = F32({16});
  EXPECT_EQ(infer(OpKind::kLinear, LinearAttrs{}, {&x, &w, &bias}), "f32[s0, 7, 32]");
  EXPECT_EQ(error_of(OpKind::kLinear, LinearAttrs{}, {&x, &w, &bad_bias}),
            "linear: bias must have shape [32], got f32[16]");
  TensorType wt = F32({16, 32});
  EXPECT_NE(error_of(OpKind::kLinear, LinearAttrs{}, {&x, &wt}).find("in-features"),
            std::string::npos);
  // A fused activation does not change the type.
  EXPECT_EQ(infer(OpKind::kLinear, LinearAttrs{Activation::kGelu}, {&x, &w, &bias}),
            "f32[s0, 7, 32]");
}

TEST(ShapeInferenceTest, ConvWithSymbolicBatchAndHeight) {
  TensorType x = F32({s0, 3, s1, 224});
  TensorType w = F32({16, 3, 3, 3});
  TensorType bias = F32({16});
  ConvAttrs a{{2, 2}, {1, 1}, {1, 1}, 1};
  EXPECT_EQ(infer(OpKind::kConv, a, {&x, &w, &bias}), "f32[s0, 16, floordiv(s1 - 1, 2) + 1, 112]");
  // Dilation 2, no padding, stride 1: 224 - 2*2 = 220.
  ConvAttrs d{{1, 1}, {0, 0}, {2, 2}, 1};
  EXPECT_EQ(infer(OpKind::kConv, d, {&x, &w, nullptr}), "f32[s0, 16, s1 - 4, 220]");
  // Depthwise and 1-D.
  TensorType dw_x = F32({1, 32, 8, 8});
  TensorType dw_w = F32({32, 1, 3, 3});
  EXPECT_EQ(infer(OpKind::kConv, ConvAttrs{{1, 1}, {1, 1}, {1, 1}, 32}, {&dw_x, &dw_w}),
            "f32[1, 32, 8, 8]");
  TensorType x1 = F32({2, 4, 10});
  TensorType w1 = F32({6, 2, 5});
  EXPECT_EQ(infer(OpKind::kConv, ConvAttrs{{1}, {0}, {1}, 2}, {&x1, &w1}), "f32[2, 6, 6]");
}

TEST(ShapeInferenceTest, ConvErrors) {
  TensorType x = F32({1, 3, 8, 8});
  TensorType w2 = F32({16, 3});
  ConvAttrs a{{1, 1}, {0, 0}, {1, 1}, 1};
  EXPECT_EQ(error_of(OpKind::kConv, a, {&x, &w2}),
            "conv: weight must have rank 4 like the input, got f32[16, 3]");
  TensorType w = F32({16, 4, 3, 3});
  EXPECT_EQ(error_of(OpKind::kConv, a, {&x, &w}),
            "conv: input has 3 channels but weight f32[16, 4, 3, 3] with groups = 1 expects 4");
  TensorType w_ok = F32({16, 3, 3, 3});
  EXPECT_EQ(error_of(OpKind::kConv, ConvAttrs{{1}, {0, 0}, {1, 1}, 1}, {&x, &w_ok}),
            "conv: stride needs one entry per spatial dim (2), got 1");
  TensorType w_g = F32({16, 1, 3, 3});
  EXPECT_EQ(error_of(OpKind::kConv, ConvAttrs{{1, 1}, {0, 0}, {1, 1}, 3}, {&x, &w_g}),
            "conv: output channels 16 are not divisible by groups = 3");
  TensorType big = F32({16, 3, 9, 9});
  EXPECT_NE(error_of(OpKind::kConv, a, {&x, &big}).find("would be 0"), std::string::npos);
  TensorType xi = T(DType::kI32, {1, 3, 8, 8});
  EXPECT_NE(error_of(OpKind::kConv, a, {&xi, &w_ok}).find("float"), std::string::npos);
}

ConvAttrs conv2d(int64_t stride, int64_t pad, int64_t groups, bool channels_last,
                 Activation act = Activation::kNone) {
  ConvAttrs a{{stride, stride}, {pad, pad}, {1, 1}, groups};
  a.channels_last = channels_last;
  a.activation = act;
  return a;
}

TEST(ShapeInferenceTest, ConvChannelsLast) {
  // x [N, H, W, C], w [O, kH, kW, C/g] -> y [N, H', W', O].
  TensorType x = F32({s0, s1, 224, 3});
  TensorType w = F32({16, 3, 3, 3});
  TensorType bias = F32({16});
  EXPECT_EQ(infer(OpKind::kConv, conv2d(2, 1, 1, true), {&x, &w, &bias}),
            "f32[s0, floordiv(s1 - 1, 2) + 1, 112, 16]");
  // Depthwise and grouped, 1-D and 3-D.
  TensorType dw_x = F32({2, 8, 8, 32});
  TensorType dw_w = F32({32, 3, 3, 1});
  EXPECT_EQ(infer(OpKind::kConv, conv2d(1, 1, 32, true), {&dw_x, &dw_w}), "f32[2, 8, 8, 32]");
  TensorType x1 = F32({2, 10, 4});
  TensorType w1 = F32({6, 5, 2});
  ConvAttrs a1{{1}, {0}, {1}, 2};
  a1.channels_last = true;
  EXPECT_EQ(infer(OpKind::kConv, a1, {&x1, &w1}), "f32[2, 6, 6]");
  TensorType x3 = F32({1, 5, 6, 7, 4});
  TensorType w3 = F32({8, 3, 3, 3, 4});
  ConvAttrs a3{{1, 2, 1}, {0, 1, 1}, {1, 1, 1}, 1};
  a3.channels_last = true;
  EXPECT_EQ(infer(OpKind::kConv, a3, {&x3, &w3}), "f32[1, 3, 3, 7, 8]");
  // The channel checks read the last dim: an NCHW weight does not fit.
  TensorType w_nchw = F32({16, 3, 5, 5});
  TensorType x_cl = F32({1, 8, 8, 4});
  EXPECT_EQ(error_of(OpKind::kConv, conv2d(1, 0, 1, true), {&x_cl, &w_nchw}),
            "conv: input has 4 channels but weight f32[16, 3, 5, 5] with groups = 1 expects 5 "
            "(channels_last)");
}

TEST(ShapeInferenceTest, ConvResidualAndActivation) {
  TensorType x = F32({s0, 8, 14, 14});
  TensorType w = F32({16, 8, 3, 3});
  TensorType bias = F32({16});
  TensorType res = F32({s0, 16, 14, 14});
  // The residual and the activation leave the output type as it was; the bias may be absent.
  EXPECT_EQ(infer(OpKind::kConv, conv2d(1, 1, 1, false, Activation::kRelu), {&x, &w, &bias, &res}),
            "f32[s0, 16, 14, 14]");
  EXPECT_EQ(
      infer(OpKind::kConv, conv2d(1, 1, 1, false, Activation::kSilu), {&x, &w, nullptr, &res}),
      "f32[s0, 16, 14, 14]");
  // A static residual dim pins a symbolic output dim, as the bias does.
  TensorType res2 = F32({4, 16, 14, 14});
  EXPECT_EQ(infer(OpKind::kConv, conv2d(1, 1, 1, false), {&x, &w, &bias, &res2}),
            "f32[4, 16, 14, 14]");
  // channels_last residual is [N, H', W', O].
  TensorType x_cl = F32({2, 14, 14, 8});
  TensorType w_cl = F32({16, 3, 3, 8});
  TensorType res_cl = F32({2, 7, 7, 16});
  EXPECT_EQ(infer(OpKind::kConv, conv2d(2, 1, 1, true, Activation::kGeluTanh),
                  {&x_cl, &w_cl, &bias, &res_cl}),
            "f32[2, 7, 7, 16]");
  // Exactly the output's shape and dtype: no broadcasting, no other layout, no other dtype.
  TensorType bcast = F32({1, 16, 1, 1});
  EXPECT_EQ(error_of(OpKind::kConv, conv2d(1, 1, 1, false), {&x, &w, &bias, &bcast}),
            "conv: residual (input 3) must have the output's type f32[s0, 16, 14, 14], got "
            "f32[1, 16, 1, 1]");
  TensorType nchw_res = F32({2, 16, 7, 7});
  EXPECT_EQ(error_of(OpKind::kConv, conv2d(2, 1, 1, true), {&x_cl, &w_cl, &bias, &nchw_res}),
            "conv: residual (input 3) must have the output's type f32[2, 7, 7, 16], got "
            "f32[2, 16, 7, 7]");
  TensorType half_res = T(DType::kF16, {2, 7, 7, 16});
  EXPECT_EQ(error_of(OpKind::kConv, conv2d(2, 1, 1, true), {&x_cl, &w_cl, &bias, &half_res}),
            "conv: residual (input 3) must have the output's type f32[2, 7, 7, 16], got "
            "f16[2, 7, 7, 16]");
  TensorType rank3 = F32({2, 7, 7});
  EXPECT_NE(error_of(OpKind::kConv, conv2d(2, 1, 1, true), {&x_cl, &w_cl, &bias, &rank3})
                .find("residual (input 3)"),
            std::string::npos);
  EXPECT_EQ(error_of(OpKind::kConv, conv2d(1, 1, 1, false), {&x, &w, &bias, &res, &res}),
            "conv: expected 2 to 4 inputs, got 5");
}

TEST(ShapeInferenceTest, ConvTranspose) {
  TensorType x = F32({s0, 16, 8, 8});
  TensorType w = F32({16, 8, 4, 4});
  ConvTransposeAttrs a{{2, 2}, {1, 1}, {0, 0}, {1, 1}, 1};
  // (8 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 = 16
  EXPECT_EQ(infer(OpKind::kConvTranspose, a, {&x, &w}), "f32[s0, 8, 16, 16]");
  a.groups = 2;
  a.output_padding = {1, 1};
  EXPECT_EQ(infer(OpKind::kConvTranspose, a, {&x, &w}), "f32[s0, 16, 17, 17]");
  a.output_padding = {2, 0};
  EXPECT_NE(error_of(OpKind::kConvTranspose, a, {&x, &w}).find("output_padding 2"),
            std::string::npos);
  TensorType sym = F32({1, 16, s1, 8});
  a = ConvTransposeAttrs{{2, 2}, {0, 0}, {0, 0}, {1, 1}, 1};
  EXPECT_EQ(infer(OpKind::kConvTranspose, a, {&sym, &w}), "f32[1, 8, 2*s1 + 2, 18]");
}

TEST(ShapeInferenceTest, Norms) {
  TensorType x = T(DType::kF16, {s0, 64, 7, 7});
  TensorType c64 = T(DType::kF16, {64});
  TensorType c32 = T(DType::kF16, {32});
  EXPECT_EQ(infer(OpKind::kBatchNorm, BatchNormAttrs{}, {&x, &c64, &c64, &c64, &c64}),
            "f16[s0, 64, 7, 7]");
  EXPECT_EQ(infer(OpKind::kBatchNorm, BatchNormAttrs{}, {&x, &c64, &c64, nullptr, &c64}),
            "f16[s0, 64, 7, 7]");
  EXPECT_EQ(error_of(OpKind::kBatchNorm, BatchNormAttrs{}, {&x, &c64, &c32}),
            "batch_norm: running var must have shape [64], got f16[32]");
  TensorType f64c = F32({64});
  EXPECT_EQ(error_of(OpKind::kBatchNorm, BatchNormAttrs{}, {&x, &f64c, &c64}),
            "batch_norm: running mean and the input must have the same dtype, got f32[64] and "
            "f16[s0, 64, 7, 7]");

  TensorType h = F32({s0, s1, 768});
  TensorType w768 = F32({768});
  EXPECT_EQ(infer(OpKind::kLayerNorm, NormAttrs{-1, 1e-5}, {&h, &w768, &w768}), "f32[s0, s1, 768]");
  EXPECT_EQ(infer(OpKind::kRmsNorm, NormAttrs{2, 1e-6}, {&h, &w768}), "f32[s0, s1, 768]");
  TensorType w2 = F32({s1, 768});
  EXPECT_EQ(infer(OpKind::kLayerNorm, NormAttrs{-2, 1e-5}, {&h, &w2}), "f32[s0, s1, 768]");
  EXPECT_EQ(error_of(OpKind::kLayerNorm, NormAttrs{-2, 1e-5}, {&h, &w768}),
            "layer_norm: weight must have the normalized shape [s1, 768] of f32[s0, s1, 768], "
            "got f32[768]");

  TensorType g = F32({2, 32, s1});
  TensorType w32 = F32({32});
  EXPECT_EQ(infer(OpKind::kGroupNorm, GroupNormAttrs{8, 1e-5}, {&g, &w32, &w32}), "f32[2, 32, s1]");
  EXPECT_EQ(error_of(OpKind::kGroupNorm, GroupNormAttrs{5, 1e-5}, {&g}),
            "group_norm: channels 32 are not divisible by groups = 5");
}

TEST(ShapeInferenceTest, Softmax) {
  TensorType x = T(DType::kBF16, {s0, 10});
  EXPECT_EQ(infer(OpKind::kSoftmax, AxisAttrs{-1}, {&x}), "bf16[s0, 10]");
  EXPECT_EQ(infer(OpKind::kLogSoftmax, AxisAttrs{0}, {&x}), "bf16[s0, 10]");
  EXPECT_EQ(error_of(OpKind::kSoftmax, AxisAttrs{2}, {&x}),
            "softmax: axis 2 is out of range for rank 2 (expected [-2, 2))");
  TensorType i = T(DType::kI64, {4});
  EXPECT_NE(error_of(OpKind::kSoftmax, AxisAttrs{0}, {&i}).find("float"), std::string::npos);
}

TEST(ShapeInferenceTest, Attention) {
  TensorType q = T(DType::kF16, {s0, 12, s1, 64});
  TensorType kv = T(DType::kF16, {s0, 1, 77, 64});
  TensorType v = T(DType::kF16, {s0, 1, 77, 32});
  TensorType mask = T(DType::kBool, {s1, 77});
  EXPECT_EQ(infer(OpKind::kAttention, AttentionAttrs{}, {&q, &kv, &v, &mask}),
            "f16[s0, 12, s1, 32]");
  TensorType bad_mask = T(DType::kF32, {s1, 77});
  EXPECT_EQ(error_of(OpKind::kAttention, AttentionAttrs{}, {&q, &kv, &v, &bad_mask}),
            "attention: mask must be bool or the query's dtype f16, got f32[s1, 77]");
  TensorType wide_mask = T(DType::kBool, {s1, 78});
  EXPECT_NE(error_of(OpKind::kAttention, AttentionAttrs{}, {&q, &kv, &v, &wide_mask})
                .find("does not broadcast"),
            std::string::npos);
  TensorType k48 = T(DType::kF16, {s0, 12, 77, 48});
  EXPECT_NE(error_of(OpKind::kAttention, AttentionAttrs{}, {&q, &k48, &v}).find("embedding size"),
            std::string::npos);
  EXPECT_NE(error_of(OpKind::kAttention, AttentionAttrs{true, {}}, {&q, &kv, &v, &mask})
                .find("is_causal"),
            std::string::npos);
}

TEST(ShapeInferenceTest, AttentionBshd) {
  const AttentionAttrs bshd{false, std::nullopt, true};
  TensorType q = T(DType::kF16, {s0, s1, 12, 64});
  TensorType k = T(DType::kF16, {s0, 77, 12, 64});
  TensorType v = T(DType::kF16, {s0, 77, 12, 80});
  TensorType padding = T(DType::kF16, {s0, 1, 1, 77});  // [B, H, Lq, Lk] as in either layout
  EXPECT_EQ(infer(OpKind::kAttention, bshd, {&q, &k, &v}), "f16[s0, s1, 12, 80]");
  EXPECT_EQ(infer(OpKind::kAttention, bshd, {&q, &k, &v, &padding}), "f16[s0, s1, 12, 80]");
  TensorType per_head = T(DType::kBool, {12, s1, 77});
  EXPECT_EQ(infer(OpKind::kAttention, bshd, {&q, &k, &v, &per_head}), "f16[s0, s1, 12, 80]");
  TensorType seq_first = T(DType::kBool, {5, 12, 77});  // [Lq, H, Lk] is not a valid mask
  EXPECT_NE(error_of(OpKind::kAttention, bshd, {&q, &k, &v, &seq_first}).find("does not broadcast"),
            std::string::npos);
  TensorType v_short = T(DType::kF16, {s0, 76, 12, 80});
  EXPECT_NE(error_of(OpKind::kAttention, bshd, {&q, &k, &v_short}).find("sequence length (dim 1)"),
            std::string::npos);
  TensorType k_heads = T(DType::kF16, {s0, 77, 6, 64});
  EXPECT_NE(error_of(OpKind::kAttention, bshd, {&q, &k_heads, &v}), "");
  TensorType q3 = T(DType::kF16, {s0, s1, 64});
  EXPECT_EQ(error_of(OpKind::kAttention, bshd, {&q3, &q3, &q3}),
            "attention: query must have rank 4, got f16[s0, s1, 64]");
}

PoolAttrs pool(std::vector<int64_t> kernel, std::vector<int64_t> stride,
               std::vector<int64_t> padding, std::vector<int64_t> dilation,
               bool ceil_mode = false) {
  PoolAttrs a;
  a.kernel = std::move(kernel);
  a.stride = std::move(stride);
  a.padding = std::move(padding);
  a.dilation = std::move(dilation);
  a.ceil_mode = ceil_mode;
  return a;
}

TEST(ShapeInferenceTest, Pools) {
  TensorType x = F32({s0, 64, 112, 112});
  PoolAttrs mp = pool({3, 3}, {2, 2}, {1, 1}, {1, 1});
  EXPECT_EQ(infer(OpKind::kMaxPool, mp, {&x}), "f32[s0, 64, 56, 56]");
  TensorType sym = F32({1, 8, s1, 5});
  EXPECT_EQ(infer(OpKind::kMaxPool, pool({2, 2}, {2, 2}, {0, 0}, {1, 1}), {&sym}),
            "f32[1, 8, floordiv(s1 - 2, 2) + 1, 2]");
  // ceil_mode: 5 with kernel 2, stride 2, padding 1 gives 3 (the last window would start in the
  // padding); 6 with kernel 3, stride 2, padding 1 gives 4.
  TensorType x5 = F32({1, 1, 5, 6});
  PoolAttrs ceil = pool({2, 3}, {2, 2}, {1, 1}, {1, 1}, true);
  EXPECT_EQ(infer(OpKind::kMaxPool, ceil, {&x5}), "f32[1, 1, 3, 4]");
  std::vector<const TensorType*> in = {&sym};
  Expected<std::vector<TensorType>> r =
      infer_output_types(OpKind::kAvgPool, pool({2, 2}, {2, 2}, {0, 0}, {1, 1}, true), in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(error_of(OpKind::kAvgPool, pool({3, 3}, {1, 1}, {0, 0}, {2, 2}), {&x}),
            "avg_pool: dilation must be 1 for avg_pool, got 2");
  EXPECT_NE(error_of(OpKind::kMaxPool, pool({2, 2}, {1, 1}, {2, 2}, {1, 1}), {&x})
                .find("at most half"),
            std::string::npos);
  EXPECT_EQ(infer(OpKind::kAdaptiveAvgPool, AdaptivePoolAttrs{{1, 1}}, {&x}), "f32[s0, 64, 1, 1]");
  // channels_last: x and y are [N, *spatial, C].
  TensorType x_cl = F32({s0, 112, 112, 64});
  PoolAttrs mp_cl = mp;
  mp_cl.channels_last = true;
  EXPECT_EQ(infer(OpKind::kMaxPool, mp_cl, {&x_cl}), "f32[s0, 56, 56, 64]");
  TensorType sym_cl = F32({1, s1, 5, 8});
  PoolAttrs ap_cl = pool({2, 2}, {2, 2}, {0, 0}, {1, 1});
  ap_cl.channels_last = true;
  EXPECT_EQ(infer(OpKind::kAvgPool, ap_cl, {&sym_cl}), "f32[1, floordiv(s1 - 2, 2) + 1, 2, 8]");
  TensorType x5_cl = F32({1, 5, 6, 1});
  ceil.channels_last = true;
  EXPECT_EQ(infer(OpKind::kMaxPool, ceil, {&x5_cl}), "f32[1, 3, 4, 1]");
  TensorType x1_cl = F32({2, 9, 3});
  PoolAttrs p1 = pool({3}, {2}, {1}, {1});
  p1.channels_last = true;
  EXPECT_EQ(infer(OpKind::kAvgPool, p1, {&x1_cl}), "f32[2, 5, 3]");
  EXPECT_EQ(error_of(OpKind::kAdaptiveMaxPool, AdaptivePoolAttrs{{7}}, {&x}),
            "adaptive_max_pool: output_size needs one entry per spatial dim (2), got 1");
}

TEST(ShapeInferenceTest, Resize) {
  TensorType x = F32({s0, 3, s1, 16});
  ResizeAttrs a{ResizeMode::kBilinear, false, {s1 * 2, 32}, {2.0, 2.0}};
  EXPECT_EQ(infer(OpKind::kResize, a, {&x}), "f32[s0, 3, 2*s1, 32]");
  a.size = {32};
  EXPECT_NE(error_of(OpKind::kResize, a, {&x}).find("one entry per spatial dim"),
            std::string::npos);
  TensorType u8 = T(DType::kU8, {1, 3, 4, 4, 4});
  EXPECT_EQ(infer(OpKind::kResize, ResizeAttrs{ResizeMode::kNearest, false, {8, 8, 8}, {}}, {&u8}),
            "u8[1, 3, 8, 8, 8]");
}

TEST(ShapeInferenceTest, Reshape) {
  TensorType img = F32({s0, 3, 224, 224});
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{s0, -1}}, {&img}), "f32[s0, 150528]");
  TensorType h = F32({s0, s1, 12, 64});
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{-1, 768}}, {&h}), "f32[s0*s1, 768]");
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{s0, s1, -1}}, {&h}), "f32[s0, s1, 768]");
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{s0 * s1 * 12, 64}}, {&h}), "f32[12*s0*s1, 64]");
  // A -1 that does not divide exactly stays a floordiv.
  TensorType odd = F32({s0, 5});
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{2, -1}}, {&odd}), "f32[2, floordiv(5*s0, 2)]");
  // Structurally different symbolic counts are left to the runtime.
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{s1, 4}}, {&odd}), "f32[s1, 4]");
  TensorType x = F32({2, 3});
  EXPECT_EQ(error_of(OpKind::kReshape, ReshapeAttrs{{7}}, {&x}),
            "reshape: cannot reshape f32[2, 3] (6 elements) to [7] (7 elements)");
  EXPECT_EQ(error_of(OpKind::kReshape, ReshapeAttrs{{4, -1}}, {&x}),
            "reshape: cannot reshape f32[2, 3] (6 elements) to [4, -1]");
  EXPECT_EQ(error_of(OpKind::kReshape, ReshapeAttrs{{-1, -1}}, {&x}),
            "reshape: shape [-1, -1] has more than one -1");
  TensorType ones = F32({1, 1});
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{}}, {&ones}), "f32[]");
}

TEST(ShapeInferenceTest, PermuteAndExpand) {
  TensorType x = T(DType::kI64, {s0, 3, 5});
  EXPECT_EQ(infer(OpKind::kPermute, PermuteAttrs{{2, 0, -2}}, {&x}), "i64[5, s0, 3]");
  EXPECT_EQ(error_of(OpKind::kPermute, PermuteAttrs{{0, 0, 1}}, {&x}),
            "permute: perm lists axis 0 twice, so it is not a permutation");
  EXPECT_EQ(error_of(OpKind::kPermute, PermuteAttrs{{0, 1}}, {&x}),
            "permute: perm has 2 entries but the input is i64[s0, 3, 5]");
  TensorType y = T(DType::kBool, {1, s0});
  EXPECT_EQ(infer(OpKind::kExpand, ExpandAttrs{{4, -1}}, {&y}), "bool[4, s0]");
  EXPECT_EQ(infer(OpKind::kExpand, ExpandAttrs{{s1, 2, s1, s0}}, {&y}), "bool[s1, 2, s1, s0]");
  TensorType z = F32({3, 1});
  EXPECT_EQ(infer(OpKind::kExpand, ExpandAttrs{{2, 3, 5}}, {&z}), "f32[2, 3, 5]");
  EXPECT_EQ(error_of(OpKind::kExpand, ExpandAttrs{{4, 1}}, {&z}),
            "expand: cannot expand f32[3, 1] to [4, 1] (dim 3 is not 1 and differs from 4)");
  EXPECT_NE(error_of(OpKind::kExpand, ExpandAttrs{{1}}, {&z}).find("lower rank"),
            std::string::npos);
  EXPECT_NE(error_of(OpKind::kExpand, ExpandAttrs{{-1, 3, 1}}, {&z}).find("new leading dim"),
            std::string::npos);
}

TEST(ShapeInferenceTest, SliceStatic) {
  TensorType x = F32({4, 10});
  auto slice = [&](int64_t start, int64_t end, int64_t step) {
    return infer(OpKind::kSlice, SliceAttrs{1, start, end, step}, {&x});
  };
  EXPECT_EQ(slice(-3, kEnd, 1), "f32[4, 3]");
  EXPECT_EQ(slice(2, -2, 3), "f32[4, 2]");  // 2, 5
  EXPECT_EQ(slice(2, 10, 3), "f32[4, 3]");  // 2, 5, 8
  EXPECT_EQ(slice(8, 2, 1), "f32[4, 0]");
  EXPECT_EQ(slice(-100, 100, 1), "f32[4, 10]");
  EXPECT_EQ(slice(0, 0, 1), "f32[4, 0]");
  EXPECT_EQ(error_of(OpKind::kSlice, SliceAttrs{1, 0, 5, 0}, {&x}),
            "slice: step must be >= 1, got 0");
  EXPECT_EQ(error_of(OpKind::kSlice, SliceAttrs{2, 0, 5, 1}, {&x}),
            "slice: axis 2 is out of range for rank 2 (expected [-2, 2))");
}

TEST(ShapeInferenceTest, SliceSymbolic) {
  TensorType x = F32({s0, 8});
  auto slice = [&](DimExpr start, DimExpr end, int64_t step) {
    return infer(OpKind::kSlice, SliceAttrs{0, start, end, step}, {&x});
  };
  EXPECT_EQ(slice(1, kEnd, 1), "f32[s0 - 1, 8]");
  EXPECT_EQ(slice(-3, kEnd, 1), "f32[3, 8]");
  EXPECT_EQ(slice(0, -1, 1), "f32[s0 - 1, 8]");
  EXPECT_EQ(slice(0, 5, 1), "f32[min(5, s0), 8]");
  EXPECT_EQ(slice(0, kEnd, 2), "f32[floordiv(s0 + 1, 2), 8]");
  // Symbolic bounds (from sym_size arithmetic) are used as given.
  EXPECT_EQ(slice(s1 - 2, s1, 1), "f32[2, 8]");
  TensorType mask = F32({1024, 1024});
  EXPECT_EQ(infer(OpKind::kSlice, SliceAttrs{0, s1 - s0, s1, 1}, {&mask}), "f32[s0, 1024]");
}

TEST(ShapeInferenceTest, ConcatAndSplit) {
  TensorType a = F32({s0, 3});
  TensorType b = F32({s0, 5});
  EXPECT_EQ(infer(OpKind::kConcat, AxisAttrs{1}, {&a, &b, &a}), "f32[s0, 11]");
  TensorType c = F32({2, 3});
  EXPECT_EQ(infer(OpKind::kConcat, AxisAttrs{-2}, {&a, &c}), "f32[s0 + 2, 3]");
  EXPECT_EQ(infer(OpKind::kConcat, AxisAttrs{0}, {&c}), "f32[2, 3]");
  EXPECT_EQ(error_of(OpKind::kConcat, AxisAttrs{0}, {&a, &b}),
            "concat: input 1 f32[s0, 5] differs from input 0 f32[s0, 3] in dim 1, which is not "
            "the concat axis 0");
  TensorType ci = T(DType::kI32, {2, 3});
  EXPECT_NE(error_of(OpKind::kConcat, AxisAttrs{0}, {&c, &ci}).find("same dtype"),
            std::string::npos);
  TensorType v = F32({3});
  EXPECT_NE(error_of(OpKind::kConcat, AxisAttrs{0}, {&c, &v}).find("same rank"), std::string::npos);

  TensorType x = F32({s0, 10});
  EXPECT_EQ(infer(OpKind::kSplit, SplitAttrs{1, {2, 3, 5}}, {&x}),
            "f32[s0, 2]; f32[s0, 3]; f32[s0, 5]");
  EXPECT_EQ(infer(OpKind::kSplit, SplitAttrs{0, {s0 - 1, 1}}, {&x}), "f32[s0 - 1, 10]; f32[1, 10]");
  EXPECT_EQ(error_of(OpKind::kSplit, SplitAttrs{1, {2, 3}}, {&x}),
            "split: sizes [2, 3] add up to 5 but dim 1 of f32[s0, 10] is 10");
}

TEST(ShapeInferenceTest, TakeAndGather) {
  TensorType table = T(DType::kF16, {1000, 64});
  TensorType ids = T(DType::kI64, {s0, s1});
  EXPECT_EQ(infer(OpKind::kTake, AxisAttrs{0}, {&table, &ids}), "f16[s0, s1, 64]");
  TensorType idx1 = T(DType::kI32, {5});
  EXPECT_EQ(infer(OpKind::kTake, AxisAttrs{-1}, {&table, &idx1}), "f16[1000, 5]");
  TensorType scalar_idx = T(DType::kI64, {});
  EXPECT_EQ(infer(OpKind::kTake, AxisAttrs{1}, {&table, &scalar_idx}), "f16[1000]");
  TensorType fidx = F32({5});
  EXPECT_EQ(error_of(OpKind::kTake, AxisAttrs{0}, {&table, &fidx}),
            "take: index must be an i64 or i32 tensor, got f32[5]");

  TensorType x = F32({s0, 4});
  TensorType gi = T(DType::kI64, {s0, 2});
  EXPECT_EQ(infer(OpKind::kGather, AxisAttrs{1}, {&x, &gi}), "f32[s0, 2]");
  EXPECT_EQ(error_of(OpKind::kGather, AxisAttrs{0}, {&x, &idx1}),
            "gather: index must have the input's rank 2, got i32[5]");
  TensorType wide = T(DType::kI64, {1, 5});
  EXPECT_NE(error_of(OpKind::kGather, AxisAttrs{0}, {&x, &wide}).find("larger than the input"),
            std::string::npos);
}

TEST(ShapeInferenceTest, PadTileFlipRollTrilu) {
  TensorType x = F32({s0, 3, 8, 8});
  EXPECT_EQ(infer(OpKind::kPad, PadAttrs{{0, 0, 0, 0, 1, 1, 2, -1}, PadMode::kConstant, 0}, {&x}),
            "f32[s0, 3, 10, 9]");
  PadAttrs reflect{{0, 0, 0, 0, 8, 0, 0, 0}, PadMode::kReflect, 0};
  EXPECT_EQ(error_of(OpKind::kPad, reflect, {&x}),
            "pad: reflect padding (8, 0) of dim 2 must be smaller than the dim, got "
            "f32[s0, 3, 8, 8]");
  PadAttrs too_few{{1, 1}, PadMode::kConstant, 0};
  EXPECT_NE(error_of(OpKind::kPad, too_few, {&x}).find("2 entries"), std::string::npos);
  PadAttrs crop_all{{0, 0, 0, 0, -5, -5, 0, 0}, PadMode::kConstant, 0};
  EXPECT_NE(error_of(OpKind::kPad, crop_all, {&x}).find("negative"), std::string::npos);

  TensorType y = T(DType::kI8, {2, s1});
  EXPECT_EQ(infer(OpKind::kTile, TileAttrs{{2, 1, 3}}, {&y}), "i8[2, 2, 3*s1]");
  EXPECT_NE(error_of(OpKind::kTile, TileAttrs{{2}}, {&y}).find("fewer than the rank"),
            std::string::npos);

  EXPECT_EQ(infer(OpKind::kFlip, AxesAttrs{{0, -1}}, {&y}), "i8[2, s1]");
  EXPECT_EQ(error_of(OpKind::kFlip, AxesAttrs{{1, -1}}, {&y}), "flip: axis -1 is listed twice");
  EXPECT_EQ(infer(OpKind::kRoll, RollAttrs{{1, -2}, {0, 1}}, {&y}), "i8[2, s1]");
  EXPECT_EQ(infer(OpKind::kRoll, RollAttrs{{3}, {}}, {&y}), "i8[2, s1]");
  EXPECT_EQ(error_of(OpKind::kRoll, RollAttrs{{1, 2}, {0}}, {&y}),
            "roll: shifts has 2 entries but axes has 1");
  EXPECT_EQ(infer(OpKind::kTrilu, TriluAttrs{true, 1}, {&y}), "i8[2, s1]");
  TensorType v = F32({4});
  EXPECT_EQ(error_of(OpKind::kTrilu, TriluAttrs{}, {&v}),
            "trilu: input must have rank >= 2, got f32[4]");
}

TEST(ShapeInferenceTest, ConcreteModeEvaluatesAttributeDims) {
  const std::vector<int64_t> values = {3, 7};
  TensorType x = F32({3, 7, 64});
  // reshape's shape mentions s0; with values it comes out concrete.
  EXPECT_EQ(infer(OpKind::kReshape, ReshapeAttrs{{s0, -1}}, {&x}, &values), "f32[3, 448]");
  EXPECT_EQ(infer(OpKind::kSlice, SliceAttrs{1, s1 - 5, s1 * 10, 1}, {&x}, &values),
            "f32[3, 5, 64]");
  EXPECT_EQ(infer(OpKind::kFull, FullAttrs{{s0 + 1, s1}, 0, DType::kI32}, {}, &values),
            "i32[4, 7]");
  EXPECT_EQ(infer(OpKind::kArange, ArangeAttrs{0, 1, s1 * 2, DType::kI64}, {}, &values), "i64[14]");
  EXPECT_EQ(infer(OpKind::kSplit, SplitAttrs{1, {s1 - 2, 2}}, {&x}, &values),
            "f32[3, 5, 64]; f32[3, 2, 64]");
  EXPECT_EQ(infer(OpKind::kExpand, ExpandAttrs{{2, s0, -1, 64}}, {&x}, &values),
            "f32[2, 3, 7, 64]");
  TensorType img = F32({1, 3, 4, 4});
  EXPECT_EQ(infer(OpKind::kResize, ResizeAttrs{ResizeMode::kNearest, false, {s0, s1}, {}}, {&img},
                  &values),
            "f32[1, 3, 3, 7]");
  // Runtime checks use the real sizes: 3*7*64 elements cannot become [s0, 5, -1] = [3, 5, ?].
  EXPECT_NE(
      infer(OpKind::kReshape, ReshapeAttrs{{s0, 5, -1}}, {&x}, &values).find("cannot reshape"),
      std::string::npos);
  // Symbolic input dims are evaluated too, so broadcasting checks concrete sizes.
  TensorType a = F32({s0, s1});
  TensorType b = F32({3, 1});
  EXPECT_EQ(infer(OpKind::kAdd, NoAttrs{}, {&a, &b}, &values), "f32[3, 7]");
  TensorType c = F32({4, 1});
  EXPECT_NE(infer(OpKind::kAdd, NoAttrs{}, {&a, &c}, &values).find("do not broadcast"),
            std::string::npos);
  // An attribute mentioning a symbol without a value fails.
  const std::vector<int64_t> one = {3};
  EXPECT_NE(infer(OpKind::kFull, FullAttrs{{s1}, 0, DType::kF32}, {}, &one).find("symbol"),
            std::string::npos);
}

TEST(ShapeInferenceTest, NodeTypesComeFromTheGraphAndErrorsNameTheLocation) {
  Graph g;
  DimExpr batch = *graph_add_symbol(g, SymbolInfo{"batch", 1, 64, 8});
  ValueId x = graph_add_input(g, "x", F32({batch, 4}));
  ValueId y = graph_add_input(g, "y", F32({3, 4}));
  Node ok{OpKind::kRelu, {x}, {}, NoAttrs{}, ""};
  Expected<std::vector<TensorType>> r = infer_node_types(g, ok);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(text((*r)[0]), "f32[s0, 4]");
  Node bad{OpKind::kMatMul, {x, y}, {}, NoAttrs{}, "model.py:12"};
  r = infer_node_types(g, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.py:12: matmul: inner dims do not match: f32[s0, 4] @ f32[3, 4] (4 vs 3)");
  Node missing{OpKind::kRelu, {7}, {}, NoAttrs{}, ""};
  EXPECT_FALSE(infer_node_types(g, missing).ok());
}

}  // namespace
}  // namespace kiln
