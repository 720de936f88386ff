// The reference backend's f32 GEMM (see gemm.h): BLIS-style blocking. B is packed (in column
// chunks of bounded size) into K-blocks of NR-column panels, then the (M, N) plane is cut into
// tiles that run on the thread pool; each tile packs its rows of A into MR-row panels per K-block
// and runs an MR x NR register-tile micro-kernel. The micro-kernel is plain C++ with fixed trip
// counts so that GCC vectorises it at -O2 for generic x86-64; on x86 CPUs with AVX2 and FMA the
// same source is also compiled for those instructions and chosen at run time. No assembly, no
// intrinsics, no -march flags.
//
// Deliberately not here: other dtypes (callers stage f16/bf16 to f32), alpha/beta scaling,
// strided C, and any tuning beyond fixed block sizes.
#include "gemm.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "kiln/support/parallel.h"

namespace kiln::ref {
namespace {

constexpr int kMr = 6;        // rows of the register tile
constexpr int kNr = 16;       // columns of the register tile
constexpr int64_t kKc = 256;  // depth of a K-block (a B panel of kKc x kNr floats fits L1)
constexpr int64_t kMc = 96;   // rows of a tile (its packed A, kMc x kKc floats, fits L2)
constexpr int64_t kNc = 512;  // columns of a tile (at most)
constexpr int64_t kMaxPackedB = int64_t{1} << 22;  // floats of packed B held at once (16 MiB)

// acc = sum_p a[p][i] * b[p][j] over kc steps, then c (+)= acc for i < mr, j < nr. `a` is an
// MR-row panel ([kc][kMr]), `b` an NR-column panel ([kc][kNr]), both zero-padded. Always inlined so
// that each caller below compiles it for its own instruction set.
__attribute__((always_inline)) inline void micro_kernel_body(int64_t kc, const float* __restrict a,
                                                             const float* __restrict b,
                                                             float* __restrict c, int64_t ldc,
                                                             int mr, int nr, bool add) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* bp = b + p * kNr;
    const float* ap = a + p * kMr;
    for (int i = 0; i < kMr; ++i) {
      const float av = ap[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * bp[j];
    }
  }
  if (mr == kMr && nr == kNr) {
    for (int i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      if (add) {
        for (int j = 0; j < kNr; ++j) ci[j] += acc[i][j];
      } else {
        for (int j = 0; j < kNr; ++j) ci[j] = acc[i][j];
      }
    }
    return;
  }
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < nr; ++j) ci[j] = add ? ci[j] + acc[i][j] : acc[i][j];
  }
}

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             int mr, int nr, bool add);

void micro_kernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                          int nr, bool add) {
  micro_kernel_body(kc, a, b, c, ldc, mr, nr, add);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void micro_kernel_avx2(int64_t kc, const float* a,
                                                           const float* b, float* c, int64_t ldc,
                                                           int mr, int nr, bool add) {
  micro_kernel_body(kc, a, b, c, ldc, mr, nr, add);
}
#endif

MicroKernel select_micro_kernel() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return micro_kernel_avx2;
#endif
  return micro_kernel_generic;
}

// Packs a(row0 + r, p0 + p) for r < rows, p < kc into MR-row panels [panel][p][kMr], zero-padded.
void pack_a(ConstMatrix a, int64_t row0, int64_t rows, int64_t p0, int64_t kc, float* out) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
    const int64_t mr = std::min<int64_t>(kMr, rows - r0);
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = a.data + (row0 + r0) * a.row_stride + (p0 + p) * a.col_stride;
      for (int64_t r = 0; r < mr; ++r) out[p * kMr + r] = src[r * a.row_stride];
      for (int64_t r = mr; r < kMr; ++r) out[p * kMr + r] = 0.0f;
    }
    out += kc * kMr;
  }
}

// Packs b(p0 + p, col0 + j) for p < kc, j < cols into one NR-column panel [p][kNr], zero-padded.
void pack_b_panel(ConstMatrix b, int64_t p0, int64_t kc, int64_t col0, int64_t cols, float* out) {
  for (int64_t p = 0; p < kc; ++p) {
    const float* src = b.data + (p0 + p) * b.row_stride + col0 * b.col_stride;
    float* dst = out + p * kNr;
    if (b.col_stride == 1) {
      for (int64_t j = 0; j < cols; ++j) dst[j] = src[j];
    } else {
      for (int64_t j = 0; j < cols; ++j) dst[j] = src[j * b.col_stride];
    }
    for (int64_t j = cols; j < kNr; ++j) dst[j] = 0.0f;
  }
}

// c[:, 0:n] (+)= a @ b[:, 0:n] for one column chunk whose packed B fits `packed_b`.
void gemm_chunk(int64_t m, int64_t n, int64_t k, ConstMatrix a, ConstMatrix b, float* c,
                int64_t ldc, bool accumulate, float* packed_b) {
  static const MicroKernel micro = select_micro_kernel();

  // 1. Pack B: K-block kb starts at kb * kKc * n_pad; its panel jp at jp * kc * kNr.
  const int64_t n_panels = (n + kNr - 1) / kNr;
  const int64_t n_pad = n_panels * kNr;
  const int64_t k_blocks = (k + kKc - 1) / kKc;
  auto pack = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t kb = t / n_panels, jp = t % n_panels;
      const int64_t p0 = kb * kKc, kc = std::min(kKc, k - p0);
      pack_b_panel(b, p0, kc, jp * kNr, std::min<int64_t>(kNr, n - jp * kNr),
                   packed_b + p0 * n_pad + jp * kc * kNr);
    }
  };
  parallel_for(k_blocks * n_panels, std::max<int64_t>(1, 32768 / (kNr * std::min(k, kKc))), pack);

  // 2. Tiles of kMc rows x nc columns; each packs its A rows per K-block. Columns are split finer
  //    (down to 64) until there are a few tiles per thread, so that short, wide products balance.
  const int64_t m_tiles = (m + kMc - 1) / kMc;
  int64_t nc = kNc;
  while (nc > 64 && m_tiles * ((n + nc - 1) / nc) < 4 * parallel_num_threads()) nc /= 2;
  const int64_t n_tiles = (n + nc - 1) / nc;
  const int64_t tile_flops = std::min(m, kMc) * std::min(n, nc) * k;
  auto run_tiles = [&](int64_t begin, int64_t end) {
    std::vector<float> packed_a(static_cast<size_t>(((kMc + kMr - 1) / kMr) * kMr * kKc));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t i0 = (t / n_tiles) * kMc, rows = std::min(kMc, m - i0);
      const int64_t j0 = (t % n_tiles) * nc, cols = std::min(nc, n - j0);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t p0 = kb * kKc, kc = std::min(kKc, k - p0);
        pack_a(a, i0, rows, p0, kc, packed_a.data());
        const bool add = accumulate || kb > 0;
        for (int64_t j = j0; j < j0 + cols; j += kNr) {
          const float* bp = packed_b + p0 * n_pad + (j / kNr) * kc * kNr;
          const int nr = static_cast<int>(std::min<int64_t>(kNr, j0 + cols - j));
          for (int64_t i = 0; i < rows; i += kMr) {
            const int mr = static_cast<int>(std::min<int64_t>(kMr, rows - i));
            micro(kc, packed_a.data() + i * kc, bp, c + (i0 + i) * ldc + j, ldc, mr, nr, add);
          }
        }
      }
    }
  };
  parallel_for(m_tiles * n_tiles, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, tile_flops)),
               run_tiles);
}

}  // namespace

void gemm_f32(int64_t m, int64_t n, int64_t k, ConstMatrix a, ConstMatrix b, float* c, int64_t ldc,
              bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  // Column chunks (multiples of a tile) whose packed B stays under kMaxPackedB floats; the buffer
  // is left uninitialised: packing writes every element that is read.
  const int64_t chunk = std::max<int64_t>(kNc, (kMaxPackedB / k) / kNc * kNc);
  const int64_t width = std::min(n, chunk);
  const int64_t width_pad = (width + kNr - 1) / kNr * kNr;
  std::unique_ptr<float[]> packed_b(new float[static_cast<size_t>(k * width_pad)]);
  for (int64_t j0 = 0; j0 < n; j0 += chunk) {
    const ConstMatrix bj{b.data + j0 * b.col_stride, b.row_stride, b.col_stride};
    gemm_chunk(m, std::min(chunk, n - j0), k, a, bj, c + j0, ldc, accumulate, packed_b.get());
  }
}

}  // namespace kiln::ref
