// profile_report, the one formatter behind `kiln run --profile` and kiln.runtime.profile: engine
// totals, kernels by time over every engine, the slowest nodes first, constants left out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/runtime.h"
#include "test_graphs.h"

namespace kiln {
namespace {

using testing::mlp_graph;
using testing::reference_engine;

TEST(ProfileReportTest, TotalsKernelsAndSlowestNodesOverEngines) {
  std::shared_ptr<const Engine> engine = reference_engine(mlp_graph());
  const Graph& g = engine->graph();
  std::vector<double> ms(g.nodes.size(), 0.0), other(g.nodes.size(), 0.0);
  int computed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op == OpKind::kConstant) {
      ms[i] = other[i] = 100.0;  // left out, however slow
      continue;
    }
    ms[i] = 1.0 + static_cast<double>(computed);
    other[i] = 0.5;
    ++computed;
  }
  ASSERT_GE(computed, 2);
  const EngineProfile runs[] = {{"a", engine.get(), ms}, {"b", engine.get(), other}};
  const std::string report = profile_report(runs, 2);
  SCOPED_TRACE(report);

  const double total_a = computed * (computed + 1) / 2.0;
  char line[128];
  std::snprintf(line, sizeof(line), "engine a: %.3f ms GPU over %zu nodes", total_a,
                g.nodes.size());
  EXPECT_NE(report.find(line), std::string::npos);
  std::snprintf(line, sizeof(line), "engine b: %.3f ms GPU", 0.5 * computed);
  EXPECT_NE(report.find(line), std::string::npos);
  EXPECT_EQ(report.find("ref.constant"), std::string::npos);
  EXPECT_NE(report.find("per kernel (ms, nodes):"), std::string::npos);
  // Two slowest: engine a's last two computed nodes, slowest first.
  const size_t slowest = report.find("slowest 2 nodes:");
  ASSERT_NE(slowest, std::string::npos);
  std::snprintf(line, sizeof(line), "%8.3f  a #", static_cast<double>(computed));
  const size_t first = report.find(line, slowest);
  std::snprintf(line, sizeof(line), "%8.3f  a #", static_cast<double>(computed - 1));
  const size_t second = report.find(line, slowest);
  EXPECT_NE(first, std::string::npos);
  EXPECT_NE(second, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_EQ(report.find("  b #", slowest), std::string::npos);
}

}  // namespace
}  // namespace kiln
