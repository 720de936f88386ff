// Numeric tests of the attention reference kernel (OpKind::kAttention) against the SDPA definition
// evaluated in double: softmax(q @ k^T * scale + mask) @ v, with causal and boolean/additive masks
// and broadcast leading dims. Fully masked rows give zeros (PyTorch's _safe_softmax).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <optional>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::make_node;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

// Index of element `idx` (given in the broadcast output's batch dims `batch`) in a tensor whose
// leading dims are `lead` (right-aligned, size-1 dims broadcast).
int64_t lead_index(const std::vector<int64_t>& idx, const ConcreteShape& batch,
                   const ConcreteShape& lead) {
  int64_t r = 0;
  for (size_t d = 0; d < lead.size(); ++d) {
    const size_t bd = batch.size() - lead.size() + d;
    r = r * lead[d] + (lead[d] == 1 ? 0 : idx[bd]);
  }
  return r;
}

std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor* mask, bool causal, std::optional<double> scale,
                                    const ConcreteShape& batch) {
  const int64_t l = q.shape[q.shape.size() - 2], e = q.shape.back();
  const int64_t s = k.shape[k.shape.size() - 2], ev = v.shape.back();
  const double sc = scale ? *scale : 1.0 / std::sqrt(double(e));
  const ConcreteShape ql(q.shape.begin(), q.shape.end() - 2),
      kl(k.shape.begin(), k.shape.end() - 2);
  const ConcreteShape vl(v.shape.begin(), v.shape.end() - 2);
  ConcreteShape ml;
  int64_t ml_rows = 1, ml_cols = 1;
  if (mask) {
    ConcreteShape ms = mask->shape;
    while (ms.size() < 2) ms.insert(ms.begin(), 1);
    ml.assign(ms.begin(), ms.end() - 2);
    ml_rows = ms[ms.size() - 2];
    ml_cols = ms.back();
  }
  std::vector<double> out;
  for (int64_t bi = 0; bi < concrete_numel(batch); ++bi) {
    std::vector<int64_t> idx(batch.size());
    int64_t rem = bi;
    for (size_t d = batch.size(); d-- > 0;) {
      idx[d] = rem % batch[d];
      rem /= batch[d];
    }
    const int64_t qi = lead_index(idx, batch, ql), ki = lead_index(idx, batch, kl);
    const int64_t vi = lead_index(idx, batch, vl), mi = mask ? lead_index(idx, batch, ml) : 0;
    for (int64_t i = 0; i < l; ++i) {
      std::vector<double> sc_row(static_cast<size_t>(s));
      for (int64_t j = 0; j < s; ++j) {
        double dot = 0;
        for (int64_t p = 0; p < e; ++p)
          dot += q.get((qi * l + i) * e + p) * k.get((ki * s + j) * e + p);
        double x = dot * sc;
        if (mask) {
          const int64_t at =
              (mi * ml_rows + (ml_rows == 1 ? 0 : i)) * ml_cols + (ml_cols == 1 ? 0 : j);
          if (mask->dtype == DType::kBool) {
            if (mask->get(at) == 0) x = -std::numeric_limits<double>::infinity();
          } else {
            x += mask->get(at);
          }
        }
        if (causal && j > i) x = -std::numeric_limits<double>::infinity();
        sc_row[size_t(j)] = x;
      }
      double mx = -std::numeric_limits<double>::infinity();
      for (double x : sc_row) mx = std::max(mx, x);
      double sum = 0;
      for (double& x : sc_row) {
        x = mx == -std::numeric_limits<double>::infinity() ? 0.0 : std::exp(x - mx);
        sum += x;
      }
      for (int64_t c = 0; c < ev; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < s; ++j) acc += sc_row[size_t(j)] * v.get((vi * s + j) * ev + c);
        out.push_back(sum > 0 ? acc / sum : 0.0);
      }
    }
  }
  return out;
}

void check_attention(DType dt, ConcreteShape qs, ConcreteShape ks, ConcreteShape vs,
                     ConcreteShape batch, const Tensor* mask, bool causal,
                     std::optional<double> scale, uint32_t seed) {
  Tensor q = random_tensor(dt, qs, seed, -2, 2), k = random_tensor(dt, ks, seed + 1, -2, 2);
  Tensor v = random_tensor(dt, vs, seed + 2);
  ConcreteShape os = batch;
  os.push_back(qs[qs.size() - 2]);
  os.push_back(vs.back());
  Tensor out(dt, os);
  out.poison();
  const Node node = make_node(OpKind::kAttention, AttentionAttrs{causal, scale});
  std::vector<const Tensor*> in = {&q, &k, &v};
  if (mask) in.push_back(mask);
  const Status st = run_kernel(ref_kernel_Attention, node, in, {&out});
  ASSERT_TRUE(st.ok()) << st.to_string();
  expect_close(out.values(), naive_attention(q, k, v, mask, causal, scale, batch), 1e-5,
               dt == DType::kF32 ? 1e-5 : rounding_rtol(dt));
}

TEST(AttentionKernelTest, PlainMultiHead) {
  check_attention(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, {2, 3}, nullptr, false,
                  std::nullopt, 1);
  check_attention(DType::kF32, {4, 1, 3}, {4, 9, 3}, {4, 9, 5}, {4}, nullptr, false, 0.7, 2);
  check_attention(DType::kF32, {1, 70, 16}, {1, 90, 16}, {1, 90, 16}, {1}, nullptr, false,
                  std::nullopt, 3);  // more query rows than one block
}

TEST(AttentionKernelTest, CausalTopLeftAligned) {
  check_attention(DType::kF32, {2, 6, 4}, {2, 6, 4}, {2, 6, 4}, {2}, nullptr, true, std::nullopt,
                  4);
  check_attention(DType::kF32, {1, 2, 3, 4}, {1, 2, 7, 4}, {1, 2, 7, 5}, {1, 2}, nullptr, true,
                  std::nullopt, 5);  // L < S
  check_attention(DType::kF32, {2, 9, 4}, {2, 4, 4}, {2, 4, 3}, {2}, nullptr, true, std::nullopt,
                  6);  // L > S
  check_attention(DType::kF32, {1, 100, 8}, {1, 100, 8}, {1, 100, 8}, {1}, nullptr, true,
                  std::nullopt, 7);
}

TEST(AttentionKernelTest, BoolAndFloatMasksBroadcast) {
  Tensor keep = nn_test::random_bool_tensor({5, 7}, 8, 0.7);
  for (int64_t i = 0; i < 5; ++i) keep.set(i * 7, 1);  // no fully masked rows
  check_attention(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, {2, 3}, &keep, false,
                  std::nullopt, 9);
  Tensor additive = random_tensor(DType::kF32, {2, 1, 5, 7}, 10, -3, 1);
  check_attention(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, {2, 3}, &additive, false,
                  std::nullopt, 11);
  Tensor key_padding =
      nn_test::tensor_of(DType::kBool, {2, 1, 1, 7}, {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0});
  check_attention(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, {2, 3}, &key_padding,
                  false, std::nullopt, 12);
  // More query rows than one block: the mask row must follow the query row.
  Tensor tall = random_tensor(DType::kF32, {2, 1, 70, 9}, 25, -2, 1);
  check_attention(DType::kF32, {2, 2, 70, 8}, {2, 2, 9, 8}, {2, 2, 9, 4}, {2, 2}, &tall, false,
                  std::nullopt, 26);
  Tensor column = random_tensor(DType::kF32, {5, 1}, 13);
  check_attention(DType::kF32, {3, 5, 4}, {3, 6, 4}, {3, 6, 4}, {3}, &column, true, std::nullopt,
                  14);
}

TEST(AttentionKernelTest, FullyMaskedRowGivesZeros) {
  Tensor q = random_tensor(DType::kF32, {1, 3, 4}, 15),
         k = random_tensor(DType::kF32, {1, 5, 4}, 16);
  Tensor v = random_tensor(DType::kF32, {1, 5, 2}, 17);
  Tensor mask =
      nn_test::tensor_of(DType::kBool, {3, 5}, {1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  Tensor out(DType::kF32, {1, 3, 2});
  out.poison();
  const Node node = make_node(OpKind::kAttention, AttentionAttrs{false, std::nullopt});
  ASSERT_TRUE(run_kernel(ref_kernel_Attention, node, {&q, &k, &v, &mask}, {&out}).ok());
  const std::vector<double> got = out.values();
  EXPECT_EQ(got[2], 0.0);
  EXPECT_EQ(got[3], 0.0);
  expect_close(got, naive_attention(q, k, v, &mask, false, std::nullopt, {1}), 1e-6, 1e-5);
}

TEST(AttentionKernelTest, LeadingDimsBroadcast) {
  check_attention(DType::kF32, {2, 3, 4, 8}, {1, 3, 6, 8}, {2, 1, 6, 5}, {2, 3}, nullptr, false,
                  std::nullopt, 18);
  check_attention(DType::kF32, {2, 4, 8}, {6, 8}, {6, 8}, {2}, nullptr, true, std::nullopt, 19);
}

TEST(AttentionKernelTest, HandComputedUniformScores) {
  // q = 0 makes every score equal: the output is the mean of v's rows.
  Tensor q(DType::kF32, {1, 2, 2}), k = random_tensor(DType::kF32, {1, 3, 2}, 20);
  for (int64_t i = 0; i < 4; ++i) q.set(i, 0);
  Tensor v = nn_test::tensor_of(DType::kF32, {1, 3, 1}, {1, 2, 6});
  Tensor out(DType::kF32, {1, 2, 1});
  out.poison();
  const Node node = make_node(OpKind::kAttention, AttentionAttrs{true, std::nullopt});
  ASSERT_TRUE(run_kernel(ref_kernel_Attention, node, {&q, &k, &v}, {&out}).ok());
  expect_close(out.values(), {1.0, 1.5}, 1e-6, 1e-6);  // causal: row 0 sees v[0], row 1 v[0..1]
}

TEST(AttentionKernelTest, HalfPrecision) {
  Tensor keep = nn_test::random_bool_tensor({4, 6}, 21, 0.6);
  for (int64_t i = 0; i < 4; ++i) keep.set(i * 6 + 1, 1);
  check_attention(DType::kF16, {2, 2, 4, 16}, {2, 2, 6, 16}, {2, 2, 6, 8}, {2, 2}, &keep, false,
                  std::nullopt, 22);
  Tensor additive = random_tensor(DType::kBF16, {4, 6}, 23, -1, 0);
  check_attention(DType::kBF16, {2, 4, 16}, {2, 6, 16}, {2, 6, 8}, {2}, &additive, true,
                  std::nullopt, 24);
}

// `t` (rank 4) with dims 1 and 2 swapped, element bytes copied as they are.
Tensor swap_dims_1_2(const Tensor& t) {
  Tensor out(t.dtype, {t.shape[0], t.shape[2], t.shape[1], t.shape[3]});
  const size_t es = dtype_size(t.dtype);
  const int64_t d1 = t.shape[1], d2 = t.shape[2], d3 = t.shape[3];
  for (int64_t a = 0; a < t.shape[0]; ++a) {
    for (int64_t i = 0; i < d1; ++i) {
      for (int64_t j = 0; j < d2; ++j) {
        const size_t from = static_cast<size_t>(((a * d1 + i) * d2 + j) * d3) * es;
        const size_t to = static_cast<size_t>(((a * d2 + j) * d1 + i) * d3) * es;
        std::memcpy(out.bytes.data() + to, t.bytes.data() + from, static_cast<size_t>(d3) * es);
      }
    }
  }
  return out;
}

// bshd=true on [B, L, H, E] data gives exactly the bhsd result, permuted: the same arithmetic in
// the same order, only read and written through other strides.
void check_bshd(DType dt, ConcreteShape qs, ConcreteShape ks, ConcreteShape vs, const Tensor* mask,
                bool causal, std::optional<double> scale, uint32_t seed) {
  Tensor q = random_tensor(dt, qs, seed, -2, 2), k = random_tensor(dt, ks, seed + 1, -2, 2);
  Tensor v = random_tensor(dt, vs, seed + 2);
  Tensor out(dt, {qs[0], qs[1], qs[2], vs[3]});
  out.poison();
  std::vector<const Tensor*> in = {&q, &k, &v};
  if (mask) in.push_back(mask);
  Status st = run_kernel(ref_kernel_Attention,
                         make_node(OpKind::kAttention, AttentionAttrs{causal, scale}), in, {&out});
  ASSERT_TRUE(st.ok()) << st.to_string();
  const Tensor qt = swap_dims_1_2(q), kt = swap_dims_1_2(k), vt = swap_dims_1_2(v);
  Tensor out_t(dt, {qs[0], qs[2], qs[1], vs[3]});
  out_t.poison();
  std::vector<const Tensor*> in_t = {&qt, &kt, &vt};
  if (mask) in_t.push_back(mask);
  st = run_kernel(ref_kernel_Attention,
                  make_node(OpKind::kAttention, AttentionAttrs{causal, scale, true}), in_t,
                  {&out_t});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(swap_dims_1_2(out_t).bytes, out.bytes);
}

TEST(AttentionKernelTest, BshdEqualsPermutedBhsd) {
  check_bshd(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, nullptr, false, std::nullopt,
             30);
  check_bshd(DType::kF32, {1, 2, 70, 16}, {1, 2, 90, 16}, {1, 2, 90, 16}, nullptr, true, 0.3, 31);
  check_bshd(DType::kF16, {2, 2, 9, 64}, {2, 2, 4, 64}, {2, 2, 4, 64}, nullptr, true,
             std::nullopt, 32);  // L > S
  Tensor padding = random_tensor(DType::kBF16, {2, 1, 1, 7}, 33, -3, 0);
  check_bshd(DType::kBF16, {2, 3, 5, 80}, {2, 3, 7, 80}, {2, 3, 7, 80}, &padding, false,
             std::nullopt, 34);
  Tensor keep = nn_test::random_bool_tensor({2, 3, 5, 7}, 35, 0.6);
  check_bshd(DType::kF32, {2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 6}, &keep, false, std::nullopt,
             36);  // a per-head mask, with fully masked rows likely
}

TEST(AttentionKernelTest, BshdBroadcastsBatchAndHeadsAndRejectsOtherRanks) {
  // k and v shared across heads (H = 1 in [B, S, 1, E]) and across the batch.
  check_bshd(DType::kF32, {2, 3, 4, 8}, {1, 1, 6, 8}, {2, 1, 6, 5}, nullptr, false, std::nullopt,
             37);
  Tensor q(DType::kF32, {2, 4, 8}), out(DType::kF32, {2, 4, 8});
  const Node node = make_node(OpKind::kAttention, AttentionAttrs{false, std::nullopt, true});
  const Status st = run_kernel(ref_kernel_Attention, node, {&q, &q, &q}, {&out});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("bshd"), std::string::npos);
}

TEST(AttentionKernelTest, RejectsMismatchedShapes) {
  Tensor q(DType::kF32, {1, 3, 4}), k(DType::kF32, {1, 5, 3}), v(DType::kF32, {1, 5, 2});
  Tensor out(DType::kF32, {1, 3, 2});
  const Node node = make_node(OpKind::kAttention, AttentionAttrs{});
  Status s = run_kernel(ref_kernel_Attention, node, {&q, &k, &v}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("attention"), std::string::npos);
  Tensor k2(DType::kF32, {1, 5, 4}), mask(DType::kBool, {3, 4});
  EXPECT_FALSE(run_kernel(ref_kernel_Attention, node, {&q, &k2, &v, &mask}, {&out}).ok());
}

}  // namespace
}  // namespace kiln
