// Anomaly mode's switch and the finite check (see numerics.h); the tape calls check_finite on
// recorded outputs and on gradients (gradient_tape.cpp).
#include "tape/numerics.h"

#include <atomic>
#include <cmath>
#include <cstdint>

#include "tape/error.h"

namespace tape {
namespace {

std::atomic<bool> g_check_numerics{false};

// Whether data[0, n) holds a NaN or Inf: all exponent bits set. A branch-free pass the compiler
// vectorizes, split over the threads for large tensors.
bool any_non_finite(const float* data, std::int64_t n) {
  const auto* bits = reinterpret_cast<const std::uint32_t*>(data);
  int bad = 0;
#pragma omp parallel for reduction(| : bad) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) bad |= (bits[i] & 0x7f800000u) == 0x7f800000u;
  return bad != 0;
}
bool any_non_finite(const double* data, std::int64_t n) {
  const auto* bits = reinterpret_cast<const std::uint64_t*>(data);
  int bad = 0;
#pragma omp parallel for reduction(| : bad) if (n > (1 << 15))
  for (std::int64_t i = 0; i < n; ++i) bad |= (bits[i] & 0x7ff0000000000000ull) == 0x7ff0000000000000ull;
  return bad != 0;
}

// Index of the first non-finite of data[0, n), or n.
template <class T>
std::int64_t first_non_finite(const T* data, std::int64_t n) {
  if (!any_non_finite(data, n)) return n;
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return i;
  return n;
}

template <class T>
std::string describe(T v) {
  return std::isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf";
}

template <class T>
void check_data(const Tensor& t, const std::string& what) {
  const T* data = t.data<T>();
  const std::int64_t i = first_non_finite(data, t.numel());
  if (i < t.numel())
    throw NumericsError(what + ": " + describe(data[i]) + " at index " + std::to_string(i) + " of " + t.shape().to_string());
}

}  // namespace

void set_check_numerics(bool on) { g_check_numerics.store(on, std::memory_order_relaxed); }
bool check_numerics() { return g_check_numerics.load(std::memory_order_relaxed); }

CheckNumerics::CheckNumerics(bool on) : previous_(check_numerics()) { set_check_numerics(on); }
CheckNumerics::~CheckNumerics() { set_check_numerics(previous_); }

void check_finite(const Tensor& t, const std::string& what) {
  // t [...] -> nothing, or NumericsError
  if (!t.defined()) return;
  if (t.dtype() == DType::f32) check_data<float>(t, what);
  if (t.dtype() == DType::f64) check_data<double>(t, what);
}

}  // namespace tape
