// Anomaly mode (check_numerics): a NaN or Inf in a recorded op's output names that op; one made by
// a backward names the forward op it belongs to; with the mode off nothing changes.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tape/tape.h"

using namespace tape;

TEST_CASE("check_numerics names the op whose output is not finite, with its input shapes", "[numerics]") {
  const CheckNumerics on;
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, 0.0, 2.0}, {3});
  GradientTape tape;
  tape.watch(x);
  const Tensor y = exp(x);  // finite: passes
  CHECK_THROWS_AS(log(x - 1.0), NumericsError);
  CHECK_THROWS_WITH(log(x - 1.0), Catch::Contains("output 0 of log (inputs [3])") && Catch::Contains("-Inf at index 0 of [3]"));
  CHECK_THROWS_WITH(x / (x - x), Catch::Contains("of div (inputs [3], [3])") && Catch::Contains("Inf at index 0"));
  // Not recorded (no tape watches the inputs): not checked.
  CHECK_NOTHROW(log(Tensor::zeros({2})));
}

TEST_CASE("check_numerics names the forward op whose backward made a NaN gradient", "[numerics]") {
  // d/dx sum(sqrt(x) * 0) at x = 0: sqrt's backward divides the zero upstream gradient by 2 sqrt(0).
  const Tensor x = Tensor::from_vector(std::vector<double>{0.0, 1.0, 4.0}, {3});
  auto gradient = [&] {
    GradientTape tape;
    tape.watch(x);
    const Tensor loss = sum(sqrt(x) * 0.0);
    return tape.gradient(loss, x);
  };
  {
    const CheckNumerics on;
    CHECK_THROWS_AS(gradient(), NumericsError);
    CHECK_THROWS_WITH(gradient(), Catch::Contains("the backward of sqrt (forward inputs [3]) made input 0's gradient: NaN at index 0 of [3]"));
  }
  // Off (the default): the NaN comes back as the gradient, as it always did.
  REQUIRE_FALSE(check_numerics());
  const std::vector<double> g = gradient().to_vector<double>();
  CHECK(std::isnan(g[0]));
  CHECK(g[1] == 0.0);
}

TEST_CASE("check_numerics changes no value, and its scope restores what was before", "[numerics]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{0.3, -1.2, 2.5, 0.7}, {2, 2});
  auto run = [&] {
    GradientTape tape;
    tape.watch(x);
    const Tensor loss = sum(tanh(matmul(x, x)) * sigmoid(x));
    return std::make_pair(loss.item(), tape.gradient(loss, x).to_vector<double>());
  };
  const auto off = run();
  std::pair<double, std::vector<double>> on;
  {
    const CheckNumerics scope;
    REQUIRE(check_numerics());
    on = run();
    {
      const CheckNumerics inner(false);
      CHECK_FALSE(check_numerics());
    }
    CHECK(check_numerics());
  }
  CHECK_FALSE(check_numerics());
  CHECK(on.first == off.first);
  CHECK(on.second == off.second);
  CHECK_NOTHROW(check_finite(Tensor::from_vector(std::vector<float>{1.0f, 2.0f}), "x"));
  CHECK(all_finite(Tensor::from_vector(std::vector<double>{1.0, -2.0})));
  CHECK_FALSE(all_finite(Tensor::from_vector(std::vector<double>{1.0, std::nan("")})));
  CHECK(all_finite(Tensor()));
  // Large enough for the threaded pass: a NaN near the end is still found.
  std::vector<float> big(1 << 20, 1.0f);
  big[big.size() - 3] = std::nanf("");
  CHECK_FALSE(all_finite(Tensor::from_vector(big)));
  CHECK_THROWS_WITH(check_finite(Tensor::from_vector(big), "big"), Catch::Contains("NaN at index 1048573"));
  CHECK_THROWS_WITH(check_finite(Tensor::from_vector(std::vector<float>{1.0f, std::numeric_limits<float>::infinity()}), "x"),
                    Catch::Equals("x: Inf at index 1 of [2]"));
}

// LeakyReLU's kernels are plain loops cloned per ISA in a portable build: every path must give
// the definition's bits, for NaN, infinities, signed zeros and subnormals too, over a tensor long
// enough for the parallel chunks and every vector tail.
TEST_CASE("leaky_relu and its slope give the definition's bits for special values", "[numerics]") {
  const float inf = std::numeric_limits<float>::infinity(), tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<float> special{0.0f, -0.0f, 1.5f, -2.25f, inf, -inf, std::nanf(""), tiny, -tiny, 3e38f, -3e38f};
  std::vector<float> x;
  for (int i = 0; i < 100003; ++i) x.push_back(special[static_cast<std::size_t>(i) % special.size()] * (i % 7 == 0 ? 1.0f : 0.5f));
  const float alpha = 0.2f;
  Tensor xt = Tensor::from_vector(x);
  GradientTape tape;
  tape.watch(xt);
  const Tensor y = leaky_relu(xt, alpha);
  const std::vector<float> got = y.to_vector<float>();
  const std::vector<float> slope = tape.gradient(y, xt).to_vector<float>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x[" << i << "] = " << x[i]);
    const float want = x[i] > 0.0f ? x[i] : x[i] * alpha;
    REQUIRE(std::memcmp(&got[i], &want, sizeof(float)) == 0);
    const float want_slope = want > 0.0f ? 1.0f : alpha;  // from the output, as for alpha >= 0
    REQUIRE(std::memcmp(&slope[i], &want_slope, sizeof(float)) == 0);
  }
}
