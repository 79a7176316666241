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

// LeakyReLU's kernels are plain loops (cloned per ISA in a portable build; this checks the path
// this CPU takes): they must give the definition's bits, for NaN, infinities, signed zeros and
// subnormals too, in both dtypes, with the slope read from the output (alpha >= 0) or the input
// (alpha < 0), over a tensor long enough for the parallel chunks and every vector tail.
namespace {

template <class T>
void check_leaky_relu_bits(T alpha) {
  const T inf = std::numeric_limits<T>::infinity(), tiny = std::numeric_limits<T>::denorm_min();
  const T big = std::numeric_limits<T>::max() / T(4);
  const std::vector<T> special{T(0), -T(0), T(1.5), T(-2.25), inf, -inf, std::numeric_limits<T>::quiet_NaN(), tiny, -tiny, big, -big};
  std::vector<T> x;
  for (int i = 0; i < 100003; ++i) x.push_back(special[static_cast<std::size_t>(i) % special.size()] * (i % 7 == 0 ? T(1) : T(0.5)));
  Tensor xt = Tensor::from_vector(x);
  GradientTape tape;
  tape.watch(xt);
  const Tensor y = leaky_relu(xt, static_cast<double>(alpha));
  const std::vector<T> got = y.to_vector<T>();
  const std::vector<T> slope = tape.gradient(y, xt).to_vector<T>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x[" << i << "] = " << x[i] << ", alpha " << alpha);
    const T want = x[i] > T(0) ? x[i] : x[i] * alpha;
    REQUIRE(std::memcmp(&got[i], &want, sizeof(T)) == 0);
    const T from = alpha >= T(0) ? want : x[i];  // what the backward reads
    const T want_slope = from > T(0) ? T(1) : alpha;
    REQUIRE(std::memcmp(&slope[i], &want_slope, sizeof(T)) == 0);
  }
}

}  // namespace

TEST_CASE("leaky_relu and its slope give the definition's bits for special values", "[numerics]") {
  check_leaky_relu_bits<float>(0.2f);
  check_leaky_relu_bits<float>(-0.5f);
  check_leaky_relu_bits<double>(0.2);
  check_leaky_relu_bits<double>(-0.5);
}
