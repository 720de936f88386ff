// The kernel harness binary (kiln_kernel_harness): main(), the test that runs every registered
// case on the CUDA device, and the coverage test.
//
//   kiln_kernel_harness                  every case; skips the device tests when there is no GPU
//   kiln_kernel_harness --require_cuda   on the GPU machine: no CUDA device is a failure
//   kiln_kernel_harness --gtest_filter='Elementwise/*'   one family
#include <cstring>
#include <iostream>

#include "harness.h"

namespace kiln::harness {
namespace {

// The CUDA device, opened once for the whole binary; null with the reason when there is none.
struct SharedDevice {
  std::unique_ptr<Device> device;
  Status why;
};

SharedDevice& shared_device() {
  static SharedDevice shared = [] {
    SharedDevice s;
    Expected<std::unique_ptr<Device>> d = open_cuda_device();
    if (d.ok()) {
      s.device = std::move(*d);
      std::cout << "kernel harness device: " << s.device->description() << "\n";
    } else {
      s.why = d.status();
    }
    return s;
  }();
  return shared;
}

}  // namespace

TEST_P(KernelHarness, MatchesReference) {
  SharedDevice& shared = shared_device();
  if (shared.device == nullptr) {
    if (shared.why.code() != StatusCode::kNotFound || require_cuda) {
      FAIL() << "no CUDA device: " << shared.why.to_string();
    }
    GTEST_SKIP() << shared.why.message();
  }
  const Report report = run_case(GetParam(), *shared.device);
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_GT(report.comparisons, 0) << "the case compared nothing";
  std::string kernels;
  for (const std::string& k : report.kernels) kernels += (kernels.empty() ? "" : " ") + k;
  RecordProperty("kernels", kernels);
}

// Every CUDA kernel in the registry is exercised by some registered case: a node of its op, under
// the case's first shape binding, that the kernel accepts. Needs no GPU (accepts runs on the host).
// constant is exempt: the runtime binds constants and never launches them.
TEST(HarnessCoverage, EveryCudaKernelHasACase) {
  std::vector<std::vector<NodeTypes>> cases;
  for (const HarnessCase& c : registered_cases()) {
    Expected<std::vector<NodeTypes>> nodes = case_node_types(c);
    EXPECT_TRUE(nodes.ok()) << c.name << ": " << nodes.status().to_string();
    if (nodes.ok()) cases.push_back(std::move(*nodes));
  }
  int cuda_kernels = 0;
  for (const Kernel& k : all_kernels()) {
    if (k.device != DeviceKind::kCuda || k.op == OpKind::kConstant) continue;
    ++cuda_kernels;
    bool covered = false;
    for (const std::vector<NodeTypes>& nodes : cases) {
      for (const NodeTypes& n : nodes) {
        covered = covered || (n.node.op == k.op && k.accepts(n.node, n.input_types, nullptr));
      }
    }
    EXPECT_TRUE(covered) << k.name << " has no harness case (add one in tests/kernels/)";
  }
#if KILN_HAVE_CUDA
  EXPECT_GT(cuda_kernels, 0) << "a CUDA build with no CUDA kernels";
#endif
}

// Every registered case is valid without a GPU: it parses, its bindings fit, the reference kernels
// run it (no integer division by zero, say) and agree with themselves, poisoning included.
TEST(HarnessCoverage, EveryCaseRunsOnTheReference) {
  std::unique_ptr<Device> host = host_device();
  for (const HarnessCase& c : registered_cases()) {
    const Report report = run_case(c, *host);
    EXPECT_TRUE(report.ok()) << c.name << ":\n" << report.text();
  }
}

// Case names are gtest parameter names: unique and [A-Za-z0-9_].
TEST(HarnessCoverage, CaseNamesAreUniqueIdentifiers) {
  std::set<std::string> names;
  for (const HarnessCase& c : registered_cases()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_FALSE(c.name.empty());
    for (char ch : c.name) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << c.name;
    }
  }
}

}  // namespace kiln::harness

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--require_cuda") == 0) {
      kiln::harness::require_cuda = true;
    } else {
      std::cerr << "kiln_kernel_harness: unknown argument " << argv[i]
                << " (gtest flags, and --require_cuda)\n";
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
