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

// The float type's bits and its exponent mask: a value is NaN or Inf when all exponent bits are set.
template <class T>
struct FloatBits;
template <>
struct FloatBits<float> {
  using Word = std::uint32_t;
  static constexpr Word kExponent = 0x7f800000u;
};
template <>
struct FloatBits<double> {
  using Word = std::uint64_t;
  static constexpr Word kExponent = 0x7ff0000000000000ull;
};

// Whether data[0, n) holds a NaN or Inf. A branch-free pass the compiler vectorizes, split over
// the threads for tensors of more than 256 KiB.
template <class T>
bool any_non_finite(const T* data, std::int64_t n) {
  using Bits = FloatBits<T>;
  const auto* words = reinterpret_cast<const typename Bits::Word*>(data);
  int bad = 0;
#pragma omp parallel for reduction(| : bad) if (n * static_cast<std::int64_t>(sizeof(T)) > (1 << 18))
  for (std::int64_t i = 0; i < n; ++i) bad |= (words[i] & Bits::kExponent) == Bits::kExponent;
  return bad != 0;
}

// Index of the first non-finite of data[0, n), or n.
template <class T>
std::int64_t first_non_finite(const T* data, std::int64_t n) {
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

bool all_finite(const Tensor& t) {
  // t [...] -> whether every value is finite
  if (!t.defined()) return true;
  if (t.dtype() == DType::f32) return !any_non_finite(t.data<float>(), t.numel());
  if (t.dtype() == DType::f64) return !any_non_finite(t.data<double>(), t.numel());
  return true;
}

void check_finite(const Tensor& t, const std::string& what) {
  // t [...] -> nothing, or NumericsError
  if (all_finite(t)) return;
  if (t.dtype() == DType::f32) check_data<float>(t, what);
  if (t.dtype() == DType::f64) check_data<double>(t, what);
}

}  // namespace tape
