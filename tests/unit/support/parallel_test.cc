#include "kiln/support/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace kiln {
namespace {

TEST(ParallelTest, EveryIndexRunsExactlyOnce) {
  for (int64_t n : {0, 1, 7, 1000, 100003}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    parallel_for(n, 16, [&](int64_t begin, int64_t end) {
      ASSERT_LE(0, begin);
      ASSERT_LE(end, n);
      for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ParallelTest, NestedCallsRunSeriallyAndComplete) {
  std::atomic<int64_t> total{0};
  parallel_for(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      parallel_for(100, 1, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
    }
  });
  EXPECT_EQ(total.load(), 64 * 100);
}

TEST(ParallelTest, ConcurrentCallersFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<int64_t> sums(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        std::atomic<int64_t> sum{0};
        parallel_for(10000, 100, [&](int64_t b, int64_t e) {
          int64_t local = 0;
          for (int64_t i = b; i < e; ++i) local += i;
          sum.fetch_add(local);
        });
        sums[t] += sum.load();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int64_t s : sums) EXPECT_EQ(s, 50 * (10000LL * 9999 / 2));
}

}  // namespace
TEST(ParallelTest, BackToBackJobsOfDifferentSizesStayInRange) {
  // A worker late for one job must never run chunks of the next (seen on a 16-core machine as a
  // crash: a big job followed by a small one handed out chunk indices of the big one).
  for (int round = 0; round < 3000; ++round) {
    const int64_t n = round % 2 ? 7 : 4096;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<bool> out_of_range{false};
    kiln::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      if (begin < 0 || end > n || begin >= end) out_of_range = true;
      for (int64_t i = std::max<int64_t>(begin, 0); i < std::min(end, n); ++i) hits[i]++;
    });
    ASSERT_FALSE(out_of_range) << "round " << round;
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "round " << round << " i " << i;
  }
}

}  // namespace kiln
