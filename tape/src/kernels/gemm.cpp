// The matrix product every dense and convolution kernel ends in: float32 through oneDNN's sgemm
// (JIT kernels for the widest instructions the CPU has, picked at run time), float64 through
// OpenBLAS, Eigen's GEMM when a build has neither.
#include <algorithm>
#include <string>

#include "kernels/kernels.h"
#include "tape/error.h"

#ifdef TAPE_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef TAPE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace tape::kernels {
namespace {

#ifdef TAPE_HAVE_DNNL
// oneDNN's name of the widest instruction set it may use here (DNNL_MAX_CPU_ISA caps it).
std::string dnnl_isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "isa " + std::to_string(static_cast<int>(isa));
  }
}
#endif

// c[m, n] = a @ b (+ c) by Eigen: A stored as [m, k] (or [k, m] when trans_a), B as [k, n] (or
// [n, k] when trans_b).
template <class T>
[[maybe_unused]] void eigen_gemm(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                                 bool trans_a, bool trans_b, bool accumulate) {
  using Mat = MatrixRM<T>;
  Eigen::Map<Mat> C(c, m, n);
  Eigen::Map<const Mat> A(a, trans_a ? k : m, trans_a ? m : k);
  Eigen::Map<const Mat> B(b, trans_b ? n : k, trans_b ? k : n);
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate) {
      // Eigen's threaded `C += A * B` is an order of magnitude slower than `C = A * B` for small
      // C and a long inner dimension (the weight-gradient shape): evaluate, then add.
      Mat product = lhs * rhs;
      C += product;
    } else {
      C.noalias() = lhs * rhs;
    }
  };
  if (trans_a && trans_b) run(A.transpose(), B.transpose());
  else if (trans_a) run(A.transpose(), B);
  else if (trans_b) run(A, B.transpose());
  else run(A, B);
}

// c[m, n] = a @ b (+ c): float32.
void backend_gemm(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                  bool trans_a, bool trans_b, bool accumulate) {
#ifdef TAPE_HAVE_DNNL
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, trans_a ? m : k, b,
                                          trans_b ? k : n, accumulate ? 1.0f : 0.0f, c, n);
  if (status != dnnl_success) {
    throw InternalError("gemm: oneDNN's sgemm failed (status " + std::to_string(static_cast<int>(status)) + ") for [" +
                        std::to_string(m) + ", " + std::to_string(k) + "] @ [" + std::to_string(k) + ", " +
                        std::to_string(n) + "]");
  }
#elif defined(TAPE_HAVE_CBLAS)
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m), int(n),
              int(k), 1.0f, a, int(trans_a ? m : k), b, int(trans_b ? k : n), accumulate ? 1.0f : 0.0f, c, int(n));
#else
  eigen_gemm(a, b, c, m, n, k, trans_a, trans_b, accumulate);
#endif
}

// c[m, n] = a @ b (+ c): float64.
void backend_gemm(const double* a, const double* b, double* c, std::int64_t m, std::int64_t n, std::int64_t k,
                  bool trans_a, bool trans_b, bool accumulate) {
#ifdef TAPE_HAVE_CBLAS
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m), int(n),
              int(k), 1.0, a, int(trans_a ? m : k), b, int(trans_b ? k : n), accumulate ? 1.0 : 0.0, c, int(n));
#else
  eigen_gemm(a, b, c, m, n, k, trans_a, trans_b, accumulate);
#endif
}

}  // namespace

std::string gemm_backend() {
  std::string float64 = "Eigen";
#ifdef TAPE_HAVE_CBLAS
  float64 = std::string("OpenBLAS ") + openblas_get_corename();
#endif
#ifdef TAPE_HAVE_DNNL
  return "oneDNN " + dnnl_isa_name(dnnl_get_effective_cpu_isa()) + " (float32), " + float64 + " (float64)";
#else
  return float64;
#endif
}

template <class T>
void gemm(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a,
          bool trans_b, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + m * n, T(0));
    return;
  }
  if (k == 1 && !accumulate) {
    // An outer product (a dense layer of one unit's input gradient): a's m values and b's n are
    // contiguous whatever the flags, and each output is one product, as the GEMMs round it; rows
    // in parallel.
    for_rows(m, n, [&](std::int64_t i) {
      const T ai = a[i];
      T* row = c + i * n;
      for (std::int64_t j = 0; j < n; ++j) row[j] = ai * b[j];
    });
    return;
  }
  backend_gemm(a, b, c, m, n, k, trans_a, trans_b, accumulate);
}

template void gemm<float>(const float*, const float*, float*, std::int64_t, std::int64_t, std::int64_t, bool,
                          bool, bool);
template void gemm<double>(const double*, const double*, double*, std::int64_t, std::int64_t, std::int64_t, bool,
                           bool, bool);

}  // namespace tape::kernels
