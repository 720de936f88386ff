// The reference backend's thread pool: one process-wide pool of hardware_concurrency - 1 workers.
// Deliberately simple: no work stealing, no priorities; chunks are handed out by an atomic counter.
#include "kiln/support/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

thread_local bool t_inside_parallel = false;

class ThreadPool {
 public:
  ThreadPool() {
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i + 1 < hw; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs body(0..chunks-1) on the pool and the calling thread. Returns only when every chunk is
  // done and no worker is still inside this job, so the next job's reset of the shared counter can
  // never be seen by a worker of this one (which once ran chunk indices of the wrong job).
  void run(int64_t chunks, const std::function<void(int64_t)>& body) {
    std::unique_lock<std::mutex> job_lock(job_mu_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = &body;
      next_.store(0);
      total_ = chunks;
      done_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    drain(body, chunks);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return done_ == total_ && active_ == 0; });
    body_ = nullptr;
  }

 private:
  void drain(const std::function<void(int64_t)>& body, int64_t total) {
    t_inside_parallel = true;
    int64_t finished = 0;
    for (int64_t i = next_.fetch_add(1); i < total; i = next_.fetch_add(1)) {
      body(i);
      ++finished;
    }
    t_inside_parallel = false;
    if (finished) {
      std::lock_guard<std::mutex> lock(mu_);
      done_ += finished;
      if (done_ == total_) done_cv_.notify_all();
    }
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* body;
      int64_t total;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (generation_ != seen && body_ != nullptr); });
        if (stop_) return;
        seen = generation_;
        body = body_;  // this job's body and size, fixed while active_ counts this worker
        total = total_;
        ++active_;
      }
      drain(*body, total);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_cv_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* body_ = nullptr;
  std::atomic<int64_t> next_{0};
  int64_t total_ = 0;   // guarded by mu_
  int64_t done_ = 0;
  int active_ = 0;       // workers inside drain(), guarded by mu_
  uint64_t generation_ = 0;
  bool stop_ = false;
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // never destroyed: safe at exit
  return *p;
}

}  // namespace

int parallel_num_threads() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(pool().size()) * 4);
  if (chunks <= 1 || t_inside_parallel || pool().size() == 1) {
    fn(0, n);
    return;
  }
  int64_t per = (n + chunks - 1) / chunks;
  pool().run(chunks, [&](int64_t c) {
    int64_t begin = c * per;
    int64_t end = std::min(n, begin + per);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace kiln
