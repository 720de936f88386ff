// Walks ops.def and fails when an op lacks any of: a CPU reference kernel in the registry, a golden
// IR text test (tests/ir/ops/*.ir uses it), a numeric kernel test (tests/unit/kernels/*_test.cc
// names OpKind::k<Enum>), or a section in docs/ir.md. Shape inference is enforced by the compiler:
// its switch has no default and the build uses -Werror=switch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "kiln/kernels/kernel.h"

namespace kiln {
namespace {

std::string read_dir(const std::filesystem::path& dir, const std::string& suffix) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string path = entry.path().string();
    if (!entry.is_regular_file() || path.size() < suffix.size() ||
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
    all += "\n";
  }
  return all;
}

const std::filesystem::path kSource = KILN_SOURCE_DIR;

TEST(OpsCompletenessTest, EveryOpHasAReferenceKernel) {
  for (int i = 0; i < kNumOps; ++i) {
    const OpInfo& info = op_info(static_cast<OpKind>(i));
    std::vector<const Kernel*> kernels = kernels_for(info.kind, DeviceKind::kCpu);
    EXPECT_FALSE(kernels.empty()) << info.name << " has no CPU reference kernel";
    const Kernel* k = find_kernel(std::string("ref.") + std::string(info.name));
    EXPECT_NE(k, nullptr) << "no kernel named ref." << info.name;
  }
}

TEST(OpsCompletenessTest, EveryOpHasAGoldenIrTest) {
  const std::string text = read_dir(kSource / "tests/ir/ops", ".ir");
  for (int i = 0; i < kNumOps; ++i) {
    const std::string name(op_info(static_cast<OpKind>(i)).name);
    const std::regex use("= " + name + "\\(");
    EXPECT_TRUE(std::regex_search(text, use)) << name << " appears in no tests/ir/ops/*.ir";
  }
}

TEST(OpsCompletenessTest, EveryOpHasANumericKernelTest) {
  const std::string text = read_dir(kSource / "tests/unit/kernels", "_test.cc");
  for (int i = 0; i < kNumOps; ++i) {
    const std::string token = "OpKind::k" + std::string(op_info(static_cast<OpKind>(i)).enum_name);
    const std::regex use(token + "\\b");
    EXPECT_TRUE(std::regex_search(text, use)) << token << " appears in no tests/unit/kernels test";
  }
}

TEST(OpsCompletenessTest, EveryOpIsDocumented) {
  const std::string text = read_dir(kSource / "docs", "ir.md");
  for (int i = 0; i < kNumOps; ++i) {
    const std::string name(op_info(static_cast<OpKind>(i)).name);
    const std::regex use("`" + name + "`");
    EXPECT_TRUE(std::regex_search(text, use)) << name << " is not documented in docs/ir.md";
  }
}

}  // namespace
}  // namespace kiln
