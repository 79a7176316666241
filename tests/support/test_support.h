// Test helpers: seeded random tensors, element-wise comparisons and gradcheck assertions.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "tape/tape.h"

namespace test {

// Uniform in [low, high), float64 by default, from a fixed seed.
inline tape::Tensor rand(const tape::Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0,
                         tape::DType dtype = tape::DType::f64) {
  tape::Generator gen(seed);
  return tape::Tensor::uniform(shape, gen, low, high, dtype);
}

// Values in [low, high) with magnitude at least `gap` away from zero (for ops with a kink at 0).
inline tape::Tensor rand_away_from_zero(const tape::Shape& shape, std::uint64_t seed, double gap = 0.1) {
  tape::Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  for (auto& x : v) {
    const double m = gap + (1.0 - gap) * gen.uniform();
    x = gen.uniform() < 0.5 ? -m : m;
  }
  return tape::Tensor::from_vector(v, shape);
}

// max |a - b| / max(max |b|, tiny); infinite when any element of either is NaN or infinite.
inline double max_rel_diff(const tape::Tensor& a, const tape::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector<double>();
  const auto vb = b.to_vector<double>();
  double num = 0.0, den = 1e-30;
  for (std::size_t i = 0; i < va.size(); ++i) {
    if (!std::isfinite(va[i]) || !std::isfinite(vb[i])) return INFINITY;
    num = std::max(num, std::abs(va[i] - vb[i]));
    den = std::max(den, std::abs(vb[i]));
  }
  return num / den;
}

inline void require_close(const tape::Tensor& a, const tape::Tensor& b, double tol) {
  INFO("a=" << a << "\nb=" << b);
  REQUIRE(max_rel_diff(a, b) <= tol);
}

// Sets tape's thread count for a scope, then restores it.
class Threads {
 public:
  explicit Threads(int n) : previous_(tape::num_threads()) { tape::set_num_threads(n); }
  ~Threads() { tape::set_num_threads(previous_); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

 private:
  int previous_;
};

// A convolution geometry for the conv-trio tests: input x[N, H, W, Ci], a kh x kw kernel to co
// channels, stride and padding.
struct ConvCase {
  tape::Shape x;
  std::int64_t kh, kw, co;
  std::array<std::int64_t, 2> strides;
  tape::Padding padding;

  tape::Shape weight_shape() const { return {kh, kw, x[3], co}; }
  tape::Conv2dOptions conv() const { return {strides, padding}; }
  // The transpose back to x's spatial size.
  tape::ConvTranspose2dOptions transpose() const {
    return {strides, padding, std::array<std::int64_t, 2>{x[1], x[2]}, {}};
  }
};

}  // namespace test

// REQUIRE_GRADCHECK(f, inputs[, options]): gradcheck must pass; its report is shown otherwise.
#define REQUIRE_GRADCHECK(...)                         \
  do {                                                 \
    auto gc_result_ = tape::gradcheck(__VA_ARGS__);    \
    INFO(gc_result_.report);                           \
    REQUIRE(gc_result_.ok);                            \
  } while (0)

#define REQUIRE_GRADGRADCHECK(...)                         \
  do {                                                     \
    auto gc_result_ = tape::gradgradcheck(__VA_ARGS__);    \
    INFO(gc_result_.report);                               \
    REQUIRE(gc_result_.ok);                                \
  } while (0)
