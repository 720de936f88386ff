// cuBLASLt plumbing for the GEMM family (gemm.cu): every cuBLAS status becomes a Status that names
// the call, and owning handles for the descriptor objects.
//
//   KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
//
// Only included where cuBLASLt exists (KILN_HAVE_CUBLASLT). Status names come from a table here:
// cublasGetStatusName lives in libcublas, which kiln does not link.
#pragma once

#include <cublasLt.h>

#include <memory>

#include "kiln/support/status.h"

namespace kiln {

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

// CUBLAS_STATUS_NOT_SUPPORTED becomes an Unsupported status (the builder may pick another kernel);
// every other failure is internal.
inline Status cublas_status(cublasStatus_t s, const char* call) {
  if (s == CUBLAS_STATUS_SUCCESS) return ok_status();
  if (s == CUBLAS_STATUS_NOT_SUPPORTED) {
    return unsupported(call, " failed: ", cublas_status_name(s));
  }
  return internal_error(call, " failed: ", cublas_status_name(s), " (", static_cast<int>(s), ")");
}

// Owning handles for cuBLASLt descriptor objects (destroy errors are ignored: nothing to do).
struct CublasLtDescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* d) const { cublasLtMatmulDescDestroy(d); }
};
struct CublasLtLayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* l) const { cublasLtMatrixLayoutDestroy(l); }
};
struct CublasLtPreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using CublasLtDesc = std::unique_ptr<cublasLtMatmulDescOpaque_t, CublasLtDescDeleter>;
using CublasLtLayout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, CublasLtLayoutDeleter>;
using CublasLtPreference =
    std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, CublasLtPreferenceDeleter>;

}  // namespace kiln

#define KILN_CUBLAS_RETURN_IF_ERROR(call)                                           \
  do {                                                                              \
    ::kiln::Status kiln_cublas_status_ = ::kiln::cublas_status((call), #call);      \
    if (!kiln_cublas_status_.ok()) return kiln_cublas_status_;                      \
  } while (0)
