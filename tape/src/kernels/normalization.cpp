// Batch normalization kernels on x viewed as [M, C] (C the channel axis): per-channel sums in
// float64 over fixed blocks of rows (the same result for any thread count), then one elementwise
// pass. Forward: mean, biased variance (two passes, stable), y. Backward: dx, dgamma, dbeta.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernels.h"

namespace tape::kernels {
namespace {

constexpr std::int64_t kMaxBlocks = 16;
// From this many channels on (a BatchNorm after a dense layer: few rows, thousands of features)
// the rows go in at most kWideBlocks blocks: 16 blocks' partial sums of 12,544 features took
// longer to zero and add up than the rows themselves (the op 1.4x faster on 1 and 2 threads).
constexpr std::int64_t kWideChannels = 4096;
constexpr std::int64_t kWideBlocks = 2;

// sums[t * c + j] = sum over rows r of the terms row(r, acc) adds at acc[t * c + j], t < terms.
// Rows go in fixed blocks (set by m and c) summed in block order, so the result does not depend
// on threads.
template <class Row>
std::vector<double> column_sums(std::int64_t m, std::int64_t c, int terms, Row row) {
  const std::int64_t width = terms * c;
  const std::int64_t most_blocks = c >= kWideChannels ? kWideBlocks : kMaxBlocks;
  const std::int64_t rows = std::max((m + most_blocks - 1) / most_blocks, (kParallelGrain + c - 1) / c);
  const std::int64_t blocks = (m + rows - 1) / rows;
  std::vector<double> partial(static_cast<std::size_t>(blocks * width), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    double* acc = partial.data() + b * width;
    for (std::int64_t r = b * rows; r < std::min(m, (b + 1) * rows); ++r) row(r, acc);
  }
  std::vector<double> sums(static_cast<std::size_t>(width), 0.0);
  for (std::int64_t b = 0; b < blocks; ++b) {
    for (std::int64_t k = 0; k < width; ++k) sums[k] += partial[b * width + k];
  }
  return sums;
}

}  // namespace

template <class T>
void batch_norm_forward(const T* x, const T* gamma, const T* beta, std::int64_t m, std::int64_t c, double epsilon,
                        T* y, T* mean, T* variance, T* invstd) {
  const std::vector<double> s1 = column_sums(m, c, 1, [&](std::int64_t r, double* acc) {
    const T* xr = x + r * c;
    for (std::int64_t j = 0; j < c; ++j) acc[j] += static_cast<double>(xr[j]);
  });
  std::vector<T> mu(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) mu[j] = static_cast<T>(s1[j] / static_cast<double>(m));
  const std::vector<double> s2 = column_sums(m, c, 1, [&](std::int64_t r, double* acc) {
    const T* xr = x + r * c;
    for (std::int64_t j = 0; j < c; ++j) {
      const double d = static_cast<double>(xr[j]) - static_cast<double>(mu[j]);
      acc[j] += d * d;
    }
  });
  std::vector<T> scale(static_cast<std::size_t>(c)), shift(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) {
    const double var = s2[j] / static_cast<double>(m), inv = 1.0 / std::sqrt(var + epsilon);
    mean[j] = mu[j];
    variance[j] = static_cast<T>(var);
    invstd[j] = static_cast<T>(inv);
    scale[j] = static_cast<T>(inv * (gamma ? static_cast<double>(gamma[j]) : 1.0));
    shift[j] = beta ? beta[j] : T(0);
  }
  for_rows(m, c, [&](std::int64_t r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    for (std::int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - mu[j]) * scale[j] + shift[j];
  });
}

template <class T>
void batch_norm_backward(const T* g, const T* x, const T* mean, const T* invstd, const T* gamma, std::int64_t m,
                         std::int64_t c, T* dx, T* dgamma, T* dbeta) {
  // sums[j] = sum g, sums[c + j] = sum g * xhat with xhat = (x - mean) * invstd
  const std::vector<double> sums = column_sums(m, c, 2, [&](std::int64_t r, double* acc) {
    const T* gr = g + r * c;
    const T* xr = x + r * c;
    for (std::int64_t j = 0; j < c; ++j) {
      acc[j] += static_cast<double>(gr[j]);
      acc[c + j] += static_cast<double>(gr[j]) * (static_cast<double>(xr[j]) - static_cast<double>(mean[j]));
    }
  });
  // dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat)) = p * (g - q) - (x - mean) * w
  std::vector<T> p(static_cast<std::size_t>(c)), q(static_cast<std::size_t>(c)), w(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) {
    const double inv = static_cast<double>(invstd[j]), scale = inv * (gamma ? static_cast<double>(gamma[j]) : 1.0);
    const double sum_gxhat = sums[c + j] * inv;
    p[j] = static_cast<T>(scale);
    q[j] = static_cast<T>(sums[j] / static_cast<double>(m));
    w[j] = static_cast<T>(scale * inv * sum_gxhat / static_cast<double>(m));
    if (dgamma) dgamma[j] = static_cast<T>(sum_gxhat);
    if (dbeta) dbeta[j] = static_cast<T>(sums[j]);
  }
  if (!dx) return;
  for_rows(m, c, [&](std::int64_t r) {
    const T* gr = g + r * c;
    const T* xr = x + r * c;
    T* dr = dx + r * c;
    for (std::int64_t j = 0; j < c; ++j) dr[j] = p[j] * (gr[j] - q[j]) - (xr[j] - mean[j]) * w[j];
  });
}

#define TAPE_BATCH_NORM_INSTANTIATE(T)                                                                        \
  template void batch_norm_forward<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, double, T*, T*, \
                                      T*, T*);                                                                \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, std::int64_t,          \
                                       std::int64_t, T*, T*, T*);
TAPE_BATCH_NORM_INSTANTIATE(float)
TAPE_BATCH_NORM_INSTANTIATE(double)
#undef TAPE_BATCH_NORM_INSTANTIATE

}  // namespace tape::kernels
