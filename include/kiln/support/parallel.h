// A small shared thread pool for the CPU reference kernels. parallel_for splits [0, n) into chunks
// of at least `grain` items and runs them on the pool and the calling thread; it returns when all
// are done. Nested calls (from inside a chunk) run serially on the calling thread.
#pragma once

#include <cstdint>
#include <functional>

namespace kiln {

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);
int parallel_num_threads();

}  // namespace kiln
