// Harness cases of the CUDA pooling family (src/kernels/cuda/pool.cu): max_pool, avg_pool,
// adaptive_avg_pool and adaptive_max_pool over 1, 2 and 3 spatial dims in f32, f16 and bf16, with
// padding, strides, dilation, ceil_mode (including a last window dropped because it starts in the
// padding), count_include_pad on and off, divisor_override, adaptive windows that overlap, global
// pooling and outputs larger than the input, special values (NaN propagates through max), and
// empty batches; max_pool and avg_pool also with channels_last ([N, *spatial, C]), with C that
// does and does not take the vectorized channels-last kernel (C = 64, 8, 12, 5, 1). The kernels sum
// in double in the reference's order, so the default tolerances hold.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

std::string graph(const std::string& inputs, const std::string& body, const std::string& ret) {
  return "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol h in [1, 10000] opt 8\n"
         "  symbol w in [1, 10000] opt 8\n" +
         inputs + body + "  return " + ret + "\n}\n";
}

std::vector<HarnessCase> pool_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kFloatTypes) {
    const std::string dt = dt_c;
    // 2-D with symbolic spatial dims (floor mode only: ceil_mode needs static dims).
    HarnessCase p2;
    p2.name = "pool2d_" + dt;
    p2.ir = graph("  input %x : " + dt + "[n, 3, h, w]\n",
                  "  %0 = max_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1]}\n"
                  "  %1 = max_pool(%x) {kernel=[2, 3], stride=[1, 2], padding=[0, 1], "
                  "dilation=[1, 1]}\n"
                  "  %2 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], count_include_pad=true}\n"
                  "  %3 = avg_pool(%x) {kernel=[3, 2], stride=[2, 1], padding=[1, 1], "
                  "dilation=[1, 1], count_include_pad=false}\n"
                  "  %4 = avg_pool(%x) {kernel=[1, 1], stride=[1, 1], padding=[0, 0], "
                  "dilation=[1, 1]}\n"
                  "  %5 = adaptive_avg_pool(%x) {output_size=[1, 1]}\n"
                  "  %6 = adaptive_max_pool(%x) {output_size=[1, 1]}\n"
                  "  %7 = adaptive_avg_pool(%x) {output_size=[3, 5]}\n"
                  "  %8 = adaptive_max_pool(%x) {output_size=[3, 5]}\n"
                  "  %9 = adaptive_avg_pool(%x) {output_size=[11, 2]}\n",
                  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9");
    p2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 3}, {"w", 3}},
                 {{"n", 3}, {"h", 56}, {"w", 33}}, {{"n", 0}, {"h", 5}, {"w", 6}},
                 {{"n", 1}, {"h", 4}, {"w", 129}}};
    cases.push_back(p2);

    // NaN and infinities: max propagates NaN, averages carry it.
    HarnessCase special = p2;
    special.name = "pool2d_special_" + dt;
    special.shapes = {{{"n", 2}, {"h", 9}, {"w", 11}}};
    special.range.special = 0.05;
    cases.push_back(special);

    // Static spatial dims: ceil_mode, dilation, divisor_override, a dropped last window.
    HarnessCase st;
    st.name = "pool2d_static_" + dt;
    st.ir = graph("  input %x : " + dt + "[n, 2, 7, 10]\n  input %y : " + dt + "[n, 2, 5, 5]\n",
                  "  %0 = max_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], ceil_mode=true}\n"
                  "  %1 = max_pool(%x) {kernel=[3, 2], stride=[2, 3], padding=[0, 0], "
                  "dilation=[2, 3], ceil_mode=false}\n"
                  "  %2 = max_pool(%x) {kernel=[3, 3], stride=[3, 3], padding=[1, 1], "
                  "dilation=[2, 2], ceil_mode=true}\n"
                  "  %3 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], ceil_mode=true, count_include_pad=true}\n"
                  "  %4 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], ceil_mode=true, count_include_pad=false}\n"
                  "  %5 = avg_pool(%x) {kernel=[2, 4], stride=[2, 3], padding=[1, 2], "
                  "dilation=[1, 1], divisor_override=3}\n"
                  "  %6 = max_pool(%y) {kernel=[2, 2], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], ceil_mode=true}\n"
                  "  %7 = avg_pool(%y) {kernel=[2, 2], stride=[2, 2], padding=[1, 1], "
                  "dilation=[1, 1], ceil_mode=true, count_include_pad=true}\n",
                  "%0, %1, %2, %3, %4, %5, %6, %7");
    st.shapes = {{{"n", 2}, {"h", 1}, {"w", 1}}, {{"n", 0}, {"h", 1}, {"w", 1}}};
    cases.push_back(st);

    // channels_last: x [n, h, w, C] (odd C), symbolic spatial dims, with special values.
    HarnessCase cl2;
    cl2.name = "pool2d_channels_last_" + dt;
    cl2.ir = graph("  input %x : " + dt + "[n, h, w, 5]\n",
                   "  %0 = max_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], channels_last=true}\n"
                   "  %1 = max_pool(%x) {kernel=[2, 3], stride=[1, 2], padding=[0, 1], "
                   "dilation=[1, 1], channels_last=true}\n"
                   "  %2 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], count_include_pad=true, channels_last=true}\n"
                   "  %3 = avg_pool(%x) {kernel=[3, 2], stride=[2, 1], padding=[1, 1], "
                   "dilation=[1, 1], count_include_pad=false, channels_last=true}\n"
                   "  %4 = avg_pool(%x) {kernel=[1, 1], stride=[1, 1], padding=[0, 0], "
                   "dilation=[1, 1], channels_last=true}\n",
                   "%0, %1, %2, %3, %4");
    cl2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 3}, {"w", 3}},
                  {{"n", 3}, {"h", 56}, {"w", 33}}, {{"n", 0}, {"h", 5}, {"w", 6}},
                  {{"n", 1}, {"h", 4}, {"w", 129}}};
    cases.push_back(cl2);
    HarnessCase cl_special = cl2;
    cl_special.name = "pool2d_channels_last_special_" + dt;
    cl_special.shapes = {{{"n", 2}, {"h", 9}, {"w", 11}}};
    cl_special.range.special = 0.05;
    cases.push_back(cl_special);

    // channels_last with static dims (ceil_mode, dilation, divisor_override), 1-D and 3-D.
    HarnessCase cls;
    cls.name = "pool_channels_last_static_1d3d_" + dt;
    cls.ir = graph("  input %x : " + dt + "[n, 7, 10, 3]\n  input %y : " + dt + "[n, w, 4]\n" +
                       "  input %v : " + dt + "[n, 5, h, 7, 2]\n",
                   "  %0 = max_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], ceil_mode=true, channels_last=true}\n"
                   "  %1 = max_pool(%x) {kernel=[3, 2], stride=[2, 3], padding=[0, 0], "
                   "dilation=[2, 3], channels_last=true}\n"
                   "  %2 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], ceil_mode=true, count_include_pad=false, channels_last=true}\n"
                   "  %3 = avg_pool(%x) {kernel=[2, 4], stride=[2, 3], padding=[1, 2], "
                   "dilation=[1, 1], divisor_override=3, channels_last=true}\n"
                   "  %4 = max_pool(%y) {kernel=[3], stride=[2], padding=[1], dilation=[2], "
                   "channels_last=true}\n"
                   "  %5 = avg_pool(%y) {kernel=[4], stride=[3], padding=[2], dilation=[1], "
                   "count_include_pad=false, channels_last=true}\n"
                   "  %6 = max_pool(%v) {kernel=[2, 3, 2], stride=[1, 2, 2], padding=[1, 1, 0], "
                   "dilation=[1, 1, 1], channels_last=true}\n"
                   "  %7 = avg_pool(%v) {kernel=[3, 2, 3], stride=[2, 1, 2], padding=[1, 0, 1], "
                   "dilation=[1, 1, 1], count_include_pad=true, channels_last=true}\n",
                   "%0, %1, %2, %3, %4, %5, %6, %7");
    cls.shapes = {{{"n", 2}, {"h", 6}, {"w", 11}}, {{"n", 1}, {"h", 2}, {"w", 7}},
                  {{"n", 3}, {"h", 9}, {"w", 100}}, {{"n", 0}, {"h", 3}, {"w", 9}}};
    cases.push_back(cls);

    // channels_last fast path (pool.cu): C a multiple of 16 bytes' worth (64, 8: vector loads
    // in every dtype), of 4 but not 8 (12: vector loads in f32 only), and C = 1; ResNet's
    // stem pool (k3 s2 p1 on [n, 112, 112, 64], over 1M elements); ceil_mode and dilation on
    // static dims; empty batches.
    HarnessCase clv;
    clv.name = "pool2d_channels_last_vec_" + dt;
    clv.ir = graph("  input %x : " + dt + "[n, h, w, 64]\n  input %y : " + dt +
                       "[n, 7, 10, 8]\n  input %z : " + dt + "[n, h, w, 12]\n  input %u : " +
                       dt + "[n, h, w, 1]\n",
                   "  %0 = max_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], channels_last=true}\n"
                   "  %1 = avg_pool(%x) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], count_include_pad=false, channels_last=true}\n"
                   "  %2 = max_pool(%y) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], ceil_mode=true, channels_last=true}\n"
                   "  %3 = max_pool(%y) {kernel=[3, 2], stride=[2, 3], padding=[0, 0], "
                   "dilation=[2, 3], channels_last=true}\n"
                   "  %4 = avg_pool(%y) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], ceil_mode=true, count_include_pad=true, channels_last=true}\n"
                   "  %5 = avg_pool(%y) {kernel=[2, 4], stride=[2, 3], padding=[1, 2], "
                   "dilation=[1, 1], divisor_override=3, channels_last=true}\n"
                   "  %6 = max_pool(%z) {kernel=[2, 2], stride=[1, 1], padding=[1, 1], "
                   "dilation=[1, 1], channels_last=true}\n"
                   "  %7 = avg_pool(%z) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], count_include_pad=true, channels_last=true}\n"
                   "  %8 = max_pool(%u) {kernel=[3, 3], stride=[2, 2], padding=[1, 1], "
                   "dilation=[1, 1], channels_last=true}\n",
                   "%0, %1, %2, %3, %4, %5, %6, %7, %8");
    clv.shapes = {{{"n", 2}, {"h", 112}, {"w", 112}}, {{"n", 1}, {"h", 1}, {"w", 1}},
                  {{"n", 3}, {"h", 9}, {"w", 11}}, {{"n", 0}, {"h", 4}, {"w", 5}}};
    cases.push_back(clv);
    HarnessCase clv_special = clv;
    clv_special.name = "pool2d_channels_last_vec_special_" + dt;
    clv_special.shapes = {{{"n", 2}, {"h", 9}, {"w", 11}}};
    clv_special.range.special = 0.05;
    cases.push_back(clv_special);

    // 1-D and 3-D.
    HarnessCase p13;
    p13.name = "pool1d3d_" + dt;
    p13.ir = graph("  input %x : " + dt + "[n, 4, w]\n  input %v : " + dt + "[n, 2, 5, h, 7]\n",
                   "  %0 = max_pool(%x) {kernel=[3], stride=[2], padding=[1], dilation=[2]}\n"
                   "  %1 = avg_pool(%x) {kernel=[4], stride=[3], padding=[2], dilation=[1], "
                   "count_include_pad=false}\n"
                   "  %2 = adaptive_avg_pool(%x) {output_size=[4]}\n"
                   "  %3 = adaptive_max_pool(%x) {output_size=[13]}\n"
                   "  %4 = max_pool(%v) {kernel=[2, 3, 2], stride=[1, 2, 2], padding=[1, 1, 0], "
                   "dilation=[1, 1, 1]}\n"
                   "  %5 = avg_pool(%v) {kernel=[3, 2, 3], stride=[2, 1, 2], padding=[1, 0, 1], "
                   "dilation=[1, 1, 1], count_include_pad=true}\n"
                   "  %6 = adaptive_avg_pool(%v) {output_size=[2, 3, 2]}\n"
                   "  %7 = adaptive_max_pool(%v) {output_size=[1, 1, 1]}\n",
                   "%0, %1, %2, %3, %4, %5, %6, %7");
    p13.shapes = {{{"n", 2}, {"h", 6}, {"w", 11}}, {{"n", 1}, {"h", 2}, {"w", 7}},
                  {{"n", 3}, {"h", 9}, {"w", 100}}, {{"n", 0}, {"h", 3}, {"w", 9}}};
    cases.push_back(p13);
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Pool, pool_cases);

}  // namespace kiln::harness
