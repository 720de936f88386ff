#include "kiln/passes/pass_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/text/printer.h"
#include "pass_test_util.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::f32;

// x -> relu -> exp (the output), plus a dead neg(x).
Graph small_graph() {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  ValueId r = *graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{});
  (void)*graph_add_node1(g, OpKind::kNeg, {x}, NoAttrs{});
  g.outputs = {*graph_add_node1(g, OpKind::kExp, {r}, NoAttrs{})};
  return g;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh, empty directory under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            str_cat("kiln_pass_manager_test_", ::getpid(), "_", counter_++);
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(PassManagerTest, RegistryHasEveryPassOnceAndTheDefaultPipelineResolves) {
  std::vector<std::string> names;
  for (const PassInfo& p : all_passes()) {
    names.emplace_back(p.name);
    EXPECT_EQ(find_pass(p.name), &p);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"dce", "fold-constants", "cse", "canonicalize",
                                             "fold-batch-norm", "layout",
                                             "fold-attention-permutes", "raise-composites",
                                             "fold-views", "fuse-epilogues"}));
  EXPECT_EQ(find_pass("no-such-pass"), nullptr);
  EXPECT_EQ(default_pipeline(),
            (std::vector<std::string>{"canonicalize", "fold-constants", "cse", "raise-composites",
                                      "canonicalize", "fold-batch-norm", "dce", "layout",
                                      "fold-constants", "canonicalize", "fold-views",
                                      "fold-attention-permutes", "fold-views", "canonicalize",
                                      "fuse-epilogues", "dce"}));
}

TEST(PassManagerTest, PipelineGoldenTestRunsTheDefaultPipeline) {
  const std::string text = read_file(std::filesystem::path(KILN_SOURCE_DIR) /
                                     "tests/ir/passes/pipeline.ir");
  std::string expected = "--passes=";
  for (const std::string& name : default_pipeline()) expected += name + ",";
  expected.back() = ' ';
  EXPECT_NE(text.find(expected), std::string::npos)
      << "tests/ir/passes/pipeline.ir must run " << expected;
}

TEST(PassManagerTest, UnknownPassIsNotFoundAndNamesTheKnownOnes) {
  Graph g = small_graph();
  std::vector<std::string> names = {"dce", "fold-constnats"};
  Status s = run_passes(g, names, {});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("'fold-constnats'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dce, fold-constants, cse, canonicalize"), std::string::npos)
      << s.message();
  EXPECT_EQ(g.nodes.size(), 3u) << "no pass may run when a name is unknown";
}

TEST(PassManagerTest, RunsPassesInOrderAndSkipsDisabledOnes) {
  Graph g = small_graph();
  std::vector<PassRun> report;
  PassManagerOptions options;
  options.disabled = {"dce"};
  options.report = &report;
  std::vector<std::string> names = {"cse", "dce"};
  KILN_ASSERT_OK(run_passes(g, names, options));
  EXPECT_EQ(g.nodes.size(), 3u);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0].name, "cse");
  EXPECT_FALSE(report[0].skipped);
  EXPECT_FALSE(report[0].changed);
  EXPECT_GE(report[0].seconds, 0.0);
  EXPECT_EQ(report[1].name, "dce");
  EXPECT_TRUE(report[1].skipped);

  report.clear();
  options.disabled = {};
  KILN_ASSERT_OK(run_passes(g, names, options));
  EXPECT_EQ(g.nodes.size(), 2u);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_TRUE(report[1].changed);
  EXPECT_EQ(count_ops(g, OpKind::kNeg), 0);
}

TEST(PassManagerTest, DisablingAnUnknownPassIsNotFound) {
  Graph g = small_graph();
  PassManagerOptions options;
  options.disabled = {"dec"};
  std::vector<std::string> names = {"dce"};
  Status s = run_passes(g, names, options);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("'dec'"), std::string::npos) << s.message();
}

// A pass that breaks the graph: the output reads a value that nothing defines.
Expected<bool> break_graph(Graph& g, const PassOptions&) {
  g.values.push_back(Value{"", f32({4})});
  g.outputs[0] = static_cast<ValueId>(g.values.size() - 1);
  return true;
}

Expected<bool> fail(Graph&, const PassOptions&) { return unsupported("nothing works"); }

TEST(PassManagerTest, VerifyEachBlamesThePassThatBrokeTheGraph) {
  const PassInfo passes[] = {{"dce", eliminate_dead_code}, {"break-graph", break_graph}};
  PassManagerOptions options;
  options.verify_each = true;
  Graph g = small_graph();
  Status s = run_pass_list(g, passes, options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("after pass 'break-graph': ", 0), 0u) << s.message();

  Graph unchecked = small_graph();
  options.verify_each = false;
  KILN_ASSERT_OK(run_pass_list(unchecked, passes, options));
}

TEST(PassManagerTest, VerifyEachChecksTheInputFirst) {
  const PassInfo passes[] = {{"dce", eliminate_dead_code}};
  PassManagerOptions options;
  options.verify_each = true;
  Graph g = small_graph();
  KILN_ASSERT_OK(break_graph(g, {}));
  Status s = run_pass_list(g, passes, options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("before the first pass: ", 0), 0u) << s.message();
}

TEST(PassManagerTest, PassErrorsNameThePass) {
  const PassInfo passes[] = {{"fail", fail}};
  Graph g = small_graph();
  Status s = run_pass_list(g, passes, {});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "pass 'fail': nothing works");
}

TEST(PassManagerTest, DumpDirGetsTheInputEachPassAndTimings) {
  TempDir dir;
  Graph g = small_graph();
  // A constant over the dump's 1024-byte limit, used so that dce keeps it.
  std::vector<float> big(512, 0.5f);
  ValueId w = *pass_test::add_f32_constant(g, {512}, big);
  g.outputs.push_back(w);
  PassManagerOptions options;
  options.dump_dir = (dir.path() / "nested").string();
  options.disabled = {"cse"};
  std::vector<std::string> names = default_pipeline();
  KILN_ASSERT_OK(run_passes(g, names, options));

  const std::filesystem::path out = dir.path() / "nested";
  for (const char* file : {"00-input.ir", "01-canonicalize.ir", "02-fold-constants.ir",
                           "05-canonicalize.ir", "16-dce.ir", "timings.txt"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  EXPECT_FALSE(std::filesystem::exists(out / "03-cse.ir")) << "cse is disabled";
  PrintOptions elided;
  elided.elide_constants_over_bytes = 1024;
  EXPECT_EQ(read_file(out / "16-dce.ir"), print_graph(g, elided));
  EXPECT_NE(read_file(out / "16-dce.ir"), print_graph(g));
  std::string timings = read_file(out / "timings.txt");
  EXPECT_NE(timings.find("03 cse"), std::string::npos) << timings;
  EXPECT_NE(timings.find("disabled"), std::string::npos) << timings;
  EXPECT_NE(timings.find("16 dce"), std::string::npos) << timings;
}

TEST(PassManagerTest, OptionsComeFromTheDebugEnvironment) {
  ::setenv("KILN_DUMP_DIR", "/tmp/kiln-dumps", 1);
  ::setenv("KILN_VERIFY_EACH", "1", 1);
  ::setenv("KILN_DISABLE_PASSES", "cse, dce,,canonicalize", 1);
  PassManagerOptions options = pass_manager_options_from_env();
  EXPECT_EQ(options.dump_dir, "/tmp/kiln-dumps");
  EXPECT_TRUE(options.verify_each);
  EXPECT_EQ(options.disabled, (std::vector<std::string>{"cse", "dce", "canonicalize"}));

  ::setenv("KILN_VERIFY_EACH", "0", 1);
  ::unsetenv("KILN_DUMP_DIR");
  ::unsetenv("KILN_DISABLE_PASSES");
  options = pass_manager_options_from_env();
  EXPECT_EQ(options.dump_dir, "");
  EXPECT_FALSE(options.verify_each);
  EXPECT_TRUE(options.disabled.empty());
  ::unsetenv("KILN_VERIFY_EACH");
}

}  // namespace
}  // namespace kiln
