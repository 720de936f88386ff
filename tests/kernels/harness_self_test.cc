// Tests of the harness itself, on the CPU: the comparison and poisoning catch wrong, missing and
// out-of-bounds results; inputs are random, deterministic and in range; run_case passes a correct
// kernel and fails broken ones. The "device" is host memory and the kernels under test are the
// reference kernels, or deliberately broken copies of them.
#include <cmath>
#include <cstring>

#include "harness.h"

namespace kiln::harness {
namespace {

// ---- comparison and poisoning -------------------------------------------------------------------

HostTensor tensor(DType dtype, ConcreteShape shape, const std::vector<double>& values) {
  HostTensor t(dtype, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.set(static_cast<int64_t>(i), values[i]);
  return t;
}

TEST(HarnessCompare, EqualTensorsMatch) {
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kI32, DType::kI8,
                  DType::kU8, DType::kBool}) {
    HostTensor a = tensor(d, {2, 2}, {0, 1, 1, 0});
    EXPECT_EQ(compare(a, a, default_tolerance(d)), "") << dtype_name(d);
  }
  HostTensor nan = tensor(DType::kF32, {3}, {NAN, INFINITY, -INFINITY});
  EXPECT_EQ(compare(nan, nan, {}), "");
}

TEST(HarnessCompare, FloatsWithinToleranceOnly) {
  const HostTensor want = tensor(DType::kF32, {2}, {1.0, -2.0});
  EXPECT_EQ(compare(tensor(DType::kF32, {2}, {1.000005, -2.0}), want, {1e-5, 0}), "");
  const std::string diff = compare(tensor(DType::kF32, {2}, {1.0, -2.001}), want, {1e-5, 1e-6});
  EXPECT_NE(diff.find("1 of 2 elements differ"), std::string::npos) << diff;
  EXPECT_NE(diff.find("element 1"), std::string::npos) << diff;
  // Exact tolerance demands equality.
  EXPECT_NE(compare(tensor(DType::kF32, {1}, {1.0000001}), tensor(DType::kF32, {1}, {1.0}), {}),
            "");
}

TEST(HarnessCompare, NanAndInfinityMustMatchExactly) {
  const Tolerance loose{1, 1};
  EXPECT_NE(compare(tensor(DType::kF32, {1}, {NAN}), tensor(DType::kF32, {1}, {1.0}), loose), "");
  EXPECT_NE(compare(tensor(DType::kF32, {1}, {1.0}), tensor(DType::kF32, {1}, {NAN}), loose), "");
  EXPECT_NE(compare(tensor(DType::kF32, {1}, {1e30}), tensor(DType::kF32, {1}, {INFINITY}), loose),
            "");
  EXPECT_NE(compare(tensor(DType::kF32, {1}, {INFINITY}), tensor(DType::kF32, {1}, {1e30}), loose),
            "");
  EXPECT_NE(compare(tensor(DType::kF16, {1}, {-INFINITY}), tensor(DType::kF16, {1}, {INFINITY}),
                    loose),
            "");
}

TEST(HarnessCompare, IntegersAndBoolsAreExact) {
  EXPECT_NE(compare(tensor(DType::kI32, {2}, {1, 2}), tensor(DType::kI32, {2}, {1, 3}), {1, 1}),
            "");
  // int64 values that a double cannot tell apart.
  HostTensor a(DType::kI64, {1}), b(DType::kI64, {1});
  const int64_t x = (int64_t{1} << 60) + 1, y = int64_t{1} << 60;
  std::memcpy(a.bytes.data(), &x, 8);
  std::memcpy(b.bytes.data(), &y, 8);
  EXPECT_NE(compare(a, b, {}), "");
  // A bool byte other than 0 or 1 is wrong even where the reference says true.
  HostTensor two(DType::kBool, {1});
  two.bytes[0] = 2;
  EXPECT_NE(compare(two, tensor(DType::kBool, {1}, {1}), {}), "");
}

TEST(HarnessCompare, ShapeOrDtypeMismatch) {
  EXPECT_NE(compare(tensor(DType::kF32, {2}, {1, 2}), tensor(DType::kF16, {2}, {1, 2}), {}), "");
  EXPECT_NE(compare(tensor(DType::kF32, {2, 1}, {1, 2}), tensor(DType::kF32, {2}, {1, 2}), {}),
            "");
}

TEST(HarnessCompare, PoisonedElementsNeverMatchInBothPasses) {
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kI32, DType::kI8,
                  DType::kU8, DType::kBool}) {
    // Whatever the reference wrote, an unwritten element fails pass 0 or pass 1.
    for (double want_value : {0.0, 1.0, -85.0, 171.0, 279.0, std::nan("")}) {
      if (!dtype_is_float(d) && std::isnan(want_value)) continue;
      const HostTensor want = tensor(d, {1}, {want_value});
      HostTensor p0(d, {1}), p1(d, {1});
      poison(p0, 0);
      poison(p1, 1);
      const Tolerance tol = default_tolerance(d);
      EXPECT_TRUE(compare(p0, want, tol) != "" || compare(p1, want, tol) != "")
          << dtype_name(d) << " " << want_value;
    }
  }
  HostTensor f(DType::kF16, {4});
  poison(f, 0);
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(std::isnan(f.get(i)));
}

// ---- inputs -------------------------------------------------------------------------------------

TEST(HarnessInputs, RandomIsDeterministicAndInRange) {
  HostTensor a(DType::kF32, {1000}), b(DType::kF32, {1000}), c(DType::kF32, {1000});
  fill_random(a, {-2, 3}, 7);
  fill_random(b, {-2, 3}, 7);
  fill_random(c, {-2, 3}, 8);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_NE(a.bytes, c.bytes);
  for (int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_GE(a.get(i), -2);
    EXPECT_LE(a.get(i), 3);
  }
  HostTensor i8(DType::kI8, {1000});
  fill_random(i8, {-1000, 1000, /*nonzero=*/true}, 1);
  std::set<double> seen;
  for (int64_t i = 0; i < i8.numel(); ++i) {
    EXPECT_NE(i8.get(i), 0);
    seen.insert(i8.get(i));
  }
  EXPECT_GT(seen.size(), 100u);  // clipped to [-128, 127], not wrapped
  HostTensor flags(DType::kBool, {100});
  fill_random(flags, {}, 3);
  std::set<double> bools;
  for (int64_t i = 0; i < flags.numel(); ++i) bools.insert(flags.get(i));
  EXPECT_EQ(bools, (std::set<double>{0, 1}));
  HostTensor special(DType::kF16, {1000});
  fill_random(special, {-1, 1, false, 0.5}, 4);
  int nans = 0;
  for (int64_t i = 0; i < special.numel(); ++i) nans += std::isnan(special.get(i));
  EXPECT_GT(nans, 0);
}

// ---- run_case with broken kernels ---------------------------------------------------------------

const char* kAddCase = R"(
graph @add {
  symbol n in [0, 100] opt 1
  symbol m in [0, 100] opt 1
  input %x : f32[n, m]
  input %y : f32[m]
  %0 = add(%x, %y)
  return %0
}
)";

HarnessCase add_case() {
  HarnessCase c;
  c.name = "add";
  c.ir = kAddCase;
  c.shapes = {{{"n", 3}, {"m", 5}}, {{"n", 1}, {"m", 1}}, {{"n", 0}, {"m", 4}}};
  return c;
}

Status ref_then(const KernelArgs& args, void (*spoil)(const KernelArgs&)) {
  KILN_RETURN_IF_ERROR(ref_kernel_Add(args));
  spoil(args);
  return ok_status();
}

bool accept_all(const Node&, std::span<const TensorType>, std::string*) { return true; }

Status writes_half(const KernelArgs& args) {
  // Computes into scratch and copies only the first half of the elements.
  HostTensor scratch(args.outputs[0].dtype, args.outputs[0].shape);
  std::vector<TensorView> out = {scratch.view()};
  KernelArgs inner{args.node, args.symbol_values, args.inputs, out, nullptr};
  KILN_RETURN_IF_ERROR(ref_kernel_Add(inner));
  std::memcpy(args.outputs[0].data, scratch.bytes.data(), scratch.bytes.size() / 2);
  return ok_status();
}
Status slightly_wrong(const KernelArgs& args) {
  return ref_then(args, [](const KernelArgs& a) {
    if (a.outputs[0].numel() > 0) static_cast<float*>(a.outputs[0].data)[0] *= 1.001f;
  });
}
Status writes_past_end(const KernelArgs& args) {
  return ref_then(args, [](const KernelArgs& a) {
    static_cast<uint8_t*>(a.outputs[0].data)[a.outputs[0].nbytes()] = 0;
  });
}
Status writes_input(const KernelArgs& args) {
  return ref_then(args, [](const KernelArgs& a) {
    if (a.inputs[1].numel() > 0) static_cast<float*>(a.inputs[1].data)[0] = 42;
  });
}
Status fails(const KernelArgs&) { return internal_error("out of cheese"); }

// Scratch of one byte per output element plus 8, asked for with shaped tensors and no data.
Expected<size_t> workspace_of_output(const KernelArgs& args) {
  if (args.outputs[0].data != nullptr || args.workspace != nullptr) {
    return internal_error("workspace_bytes got data");
  }
  return static_cast<size_t>(args.outputs[0].numel()) + 8;
}
// ref.add after filling the whole workspace it asked for (and checking it got exactly that).
Status fills_workspace(const KernelArgs& args) {
  const size_t need = static_cast<size_t>(args.outputs[0].numel()) + 8;
  if (args.workspace == nullptr || args.workspace_bytes != need) {
    return internal_error("workspace of ", args.workspace_bytes, " bytes, asked for ", need);
  }
  std::memset(args.workspace, 0x11, args.workspace_bytes);
  return ref_kernel_Add(args);
}
Status writes_past_workspace(const KernelArgs& args) {
  static_cast<uint8_t*>(args.workspace)[args.workspace_bytes] = 0;
  return ref_kernel_Add(args);
}

std::string run_with(Status (*run)(const KernelArgs&),
                     Expected<size_t> (*workspace_bytes)(const KernelArgs&) = nullptr) {
  static Kernel k;
  k = Kernel{"broken.add", OpKind::kAdd, DeviceKind::kCpu, 1, &accept_all, run, workspace_bytes};
  std::unique_ptr<Device> host = host_device();
  const Report report =
      run_case(add_case(), *host, [](const Node&, std::span<const TensorType>) {
        return std::vector<const Kernel*>{&k};
      });
  EXPECT_GT(report.comparisons, 0);
  return report.text();
}

TEST(HarnessRun, ReferenceAgainstItselfPasses) {
  std::unique_ptr<Device> host = host_device();
  const Report report = run_case(add_case(), *host);  // the CPU kernels: ref.add
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_EQ(report.comparisons, 3 * 2);  // 3 shapes x 2 seeds
  EXPECT_EQ(report.kernels, std::set<std::string>{"ref.add"});
}

TEST(HarnessRun, UnwrittenElementsFail) {
  const std::string text = run_with(&writes_half);
  EXPECT_NE(text.find("elements differ"), std::string::npos) << text;
  EXPECT_NE(text.find("{m=5, n=3} seed 1"), std::string::npos) << text;
  EXPECT_NE(text.find("node 0: %0 = add(%x, %y) : f32[n, m] on f32[3, 5], f32[5]: broken.add: "
                      "pass 0: output 0: 8 of 15 elements differ"),
            std::string::npos)
      << text;
}

TEST(HarnessRun, WrongValuesFail) {
  const std::string text = run_with(&slightly_wrong);
  EXPECT_NE(text.find("1 of 15 elements differ"), std::string::npos) << text;
}

TEST(HarnessRun, WritesPastTheEndFail) {
  const std::string text = run_with(&writes_past_end);
  EXPECT_NE(text.find("wrote past the end"), std::string::npos) << text;
  // Also for the empty output.
  EXPECT_NE(text.find("{m=4, n=0}"), std::string::npos) << text;
}

TEST(HarnessRun, WorkspaceIsPassedAndGuarded) {
  EXPECT_EQ(run_with(&fills_workspace, &workspace_of_output), "");
  const std::string text = run_with(&writes_past_workspace, &workspace_of_output);
  EXPECT_NE(text.find("wrote past the end of its 23-byte workspace"), std::string::npos) << text;
}

TEST(HarnessRun, ModifiedInputsFail) {
  const std::string text = run_with(&writes_input);
  EXPECT_NE(text.find("input 1 was modified"), std::string::npos) << text;
}

TEST(HarnessRun, KernelErrorsFail) {
  const std::string text = run_with(&fails);
  EXPECT_NE(text.find("the kernel failed: Internal: out of cheese"), std::string::npos) << text;
}

TEST(HarnessRun, NoAcceptingKernelFails) {
  std::unique_ptr<Device> host = host_device();
  const Report report = run_case(add_case(), *host, [](const Node&, std::span<const TensorType>) {
    return std::vector<const Kernel*>{};
  });
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.text().find("no cpu kernel accepts it"), std::string::npos) << report.text();
}

TEST(HarnessRun, BadCasesFail) {
  std::unique_ptr<Device> host = host_device();
  HarnessCase unbound = add_case();
  unbound.shapes = {{{"n", 3}}};
  EXPECT_NE(run_case(unbound, *host).text().find("symbol 'm' is not bound"), std::string::npos);
  HarnessCase out_of_range = add_case();
  out_of_range.shapes = {{{"n", 3}, {"m", 101}}};
  EXPECT_NE(run_case(out_of_range, *host).text().find("outside [0, 100]"), std::string::npos);
  HarnessCase bad_ir = add_case();
  bad_ir.ir = "graph @x { return }";
  EXPECT_FALSE(run_case(bad_ir, *host).ok());
}

// Every node but constants is checked, each on the reference's own inputs: a chain through a
// constant and a broadcast, with integer and bool values on the way.
TEST(HarnessRun, ChainsWithConstantsRunEveryNode) {
  HarnessCase c;
  c.name = "chain";
  c.ir = R"(
graph @chain {
  symbol n in [1, 10] opt 1
  input %x : f16[n, 3]
  %c = constant() {dtype=f16, shape=[3], data=[1, 2, 3]}
  %0 = mul(%x, %c)
  %1 = gt(%0, %x)
  %2 = cast(%1) {to=i32}
  %3 = where(%1, %0, %x)
  return %2, %3
}
)";
  c.shapes = {{{"n", 7}}};
  c.seeds = {5};
  std::unique_ptr<Device> host = host_device();
  const Report report = run_case(c, *host);
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_EQ(report.comparisons, 4);
  EXPECT_EQ(report.kernels,
            (std::set<std::string>{"ref.mul", "ref.gt", "ref.cast", "ref.where"}));
}

}  // namespace
}  // namespace kiln::harness
