// Unit tests of the sample-quality metrics (tape::metrics) on synthetic data with known answers:
// MNIST score of one-hot sets, Fréchet distance of Gaussians, matrix square roots, KID,
// improved precision/recall, class histograms, KL divergence and input validation.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tape/metrics/metrics.h"
#include "support/test_support.h"
#include "tape/error.h"

namespace {

using tape::metrics::Matrix;

// n samples of N(mean, diag(stddev^2)).
Matrix gaussian(std::size_t n, const std::vector<double>& mean, const std::vector<double>& stddev,
                std::uint64_t seed) {
  tape::Generator gen(seed);
  Matrix x(n, std::vector<double>(mean.size()));
  for (auto& row : x)
    for (std::size_t j = 0; j < mean.size(); ++j) row[j] = mean[j] + stddev[j] * gen.normal();
  return x;
}

Matrix one_hot(std::size_t n, int classes, int (*label)(std::size_t)) {
  Matrix p(n, std::vector<double>(static_cast<std::size_t>(classes), 0.0));
  for (std::size_t i = 0; i < n; ++i) p[i][static_cast<std::size_t>(label(i))] = 1.0;
  return p;
}

Matrix multiply(const Matrix& a, const Matrix& b) {
  Matrix c(a.size(), std::vector<double>(b.front().size(), 0.0));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < b.size(); ++k)
      for (std::size_t j = 0; j < c[i].size(); ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[i].size(); ++j) m = std::max(m, std::abs(a[i][j] - b[i][j]));
  return m;
}

// B B^T + 0.1 I with B [d, d] standard normal: symmetric positive definite.
Matrix random_spd(std::size_t d, std::uint64_t seed) {
  const Matrix b = gaussian(d, std::vector<double>(d, 0.0), std::vector<double>(d, 1.0), seed);
  Matrix bt(d, std::vector<double>(d));
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) bt[i][j] = b[j][i];
  Matrix a = multiply(b, bt);
  for (std::size_t i = 0; i < d; ++i) a[i][i] += 0.1;
  return a;
}

}  // namespace

TEST_CASE("mnist_score of one-hot sets", "[metrics]") {
  const auto uniform = tape::metrics::mnist_score(one_hot(1000, 10, [](std::size_t i) { return int(i % 10); }));
  CHECK(uniform.first == Approx(10.0).epsilon(1e-12));
  CHECK(uniform.second == Approx(0.0).margin(1e-12));
  const auto single = tape::metrics::mnist_score(one_hot(1000, 10, [](std::size_t) { return 3; }));
  CHECK(single.first == Approx(1.0).epsilon(1e-12));
  CHECK(single.second == Approx(0.0).margin(1e-12));
  // Two classes per split: score 2 everywhere; trailing rows beyond splits * (n / splits) unused.
  const auto two = tape::metrics::mnist_score(one_hot(104, 10, [](std::size_t i) { return int(i % 2); }), 5);
  CHECK(two.first == Approx(2.0).epsilon(1e-12));
  // Uninformative predictions score 1.
  const Matrix flat(50, std::vector<double>(10, 0.1));
  CHECK(tape::metrics::mnist_score(flat, 5).first == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("symmetric_eigen and sqrt_psd reconstruct SPD matrices", "[metrics]") {
  for (std::size_t d : {1u, 2u, 6u, 40u}) {
    const Matrix a = random_spd(d, 100 + d);
    const auto e = tape::metrics::symmetric_eigen(a);
    Matrix rebuilt(d, std::vector<double>(d, 0.0));
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t k = 0; k < d; ++k) rebuilt[i][j] += e.vectors[i][k] * e.values[k] * e.vectors[j][k];
    CHECK(max_abs_diff(rebuilt, a) < 1e-9 * d);
    CHECK(std::is_sorted(e.values.begin(), e.values.end()));
    const Matrix root = tape::metrics::sqrt_psd(a);
    CHECK(max_abs_diff(multiply(root, root), a) < 1e-9 * d);
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) CHECK(root[i][j] == Approx(root[j][i]).margin(1e-12));
  }
  // Known diagonal root and a clamped rank-deficient case.
  const Matrix diag = {{4.0, 0.0}, {0.0, 9.0}};
  CHECK(max_abs_diff(tape::metrics::sqrt_psd(diag), Matrix{{2.0, 0.0}, {0.0, 3.0}}) < 1e-12);
  const Matrix rank1 = {{1.0, 1.0}, {1.0, 1.0}};
  const double h = 1.0 / std::sqrt(2.0);
  CHECK(max_abs_diff(tape::metrics::sqrt_psd(rank1), Matrix{{h, h}, {h, h}}) < 1e-9);
}

TEST_CASE("covariance is unbiased", "[metrics]") {
  const Matrix x = {{1.0, 2.0}, {3.0, 6.0}};
  const Matrix c = tape::metrics::covariance(x);
  CHECK(c[0][0] == Approx(2.0));
  CHECK(c[0][1] == Approx(4.0));
  CHECK(c[1][1] == Approx(8.0));
}

TEST_CASE("frechet_distance of Gaussians", "[metrics]") {
  const std::vector<double> zero(4, 0.0), one(4, 1.0);
  const Matrix a = gaussian(4000, zero, one, 1);
  CHECK(tape::metrics::frechet_distance(a, a) == Approx(0.0).margin(1e-8));
  CHECK(tape::metrics::frechet_distance(a, gaussian(4000, zero, one, 2)) == Approx(0.0).margin(0.03));

  // ||m||^2 = 6; the sample-mean noise alone has std 2 sqrt(||m||^2 * 2 / n) ~ 0.11 here.
  const std::vector<double> m = {1.0, 2.0, 0.0, -1.0};
  CHECK(tape::metrics::frechet_distance(a, gaussian(4000, m, one, 3)) == Approx(6.0).margin(0.35));

  // Diagonal covariances: FD = ||mu||^2 + sum (sqrt(va) - sqrt(vb))^2 = 6 + (1 + 1 + 0.25 + 4);
  // sampling noise std ~ 0.2.
  const Matrix wide = gaussian(4000, zero, {1.0, 2.0, 0.5, 3.0}, 4);
  const Matrix other = gaussian(4000, m, {2.0, 1.0, 1.0, 1.0}, 5);
  CHECK(tape::metrics::frechet_distance(wide, other) == Approx(12.25).margin(0.6));
  // Symmetric in its arguments.
  CHECK(tape::metrics::frechet_distance(other, wide) ==
        Approx(tape::metrics::frechet_distance(wide, other)).epsilon(1e-9));
}

TEST_CASE("kid of identical and shifted distributions", "[metrics]") {
  const std::vector<double> zero(8, 0.0), one(8, 1.0), shift(8, 1.0);
  const Matrix a = gaussian(600, zero, one, 11);
  const auto same = tape::metrics::kid(a, gaussian(600, zero, one, 12), 100);
  CHECK(same.second > 0.0);
  CHECK(std::abs(same.first) < 2.0 * same.second);
  const auto shifted = tape::metrics::kid(a, gaussian(600, shift, one, 13), 100);
  CHECK(shifted.first > 0.5);
  CHECK(shifted.first > 10.0 * shifted.second);
  // One block: standard error 0.
  CHECK(tape::metrics::kid(a, a, 1000).second == 0.0);
}

TEST_CASE("precision_recall of same, disjoint and collapsed sets", "[metrics]") {
  const std::vector<double> zero(2, 0.0), one(2, 1.0);
  const Matrix real = gaussian(500, zero, one, 21);
  const auto same = tape::metrics::precision_recall(real, gaussian(500, zero, one, 22));
  CHECK(same.first > 0.85);
  CHECK(same.second > 0.85);
  const auto disjoint = tape::metrics::precision_recall(real, gaussian(500, {100.0, 100.0}, one, 23));
  CHECK(disjoint.first == 0.0);
  CHECK(disjoint.second == 0.0);

  // Real: 10 well-separated clusters; fake: only the first. Precise but low recall.
  Matrix clusters, collapsed;
  for (int c = 0; c < 10; ++c) {
    const Matrix part = gaussian(50, {20.0 * c, 0.0}, one, 30 + c);
    clusters.insert(clusters.end(), part.begin(), part.end());
  }
  collapsed = gaussian(500, zero, one, 40);
  const auto mode = tape::metrics::precision_recall(clusters, collapsed);
  CHECK(mode.first > 0.9);
  CHECK(mode.second < 0.15);
}

TEST_CASE("class_histogram and kl_divergence", "[metrics]") {
  const auto h = tape::metrics::class_histogram({0, 1, 1, 3}, 4);
  REQUIRE(h.size() == 4);
  CHECK(h[0] == Approx(0.25));
  CHECK(h[1] == Approx(0.5));
  CHECK(h[2] == 0.0);
  CHECK(h[3] == Approx(0.25));
  CHECK(tape::metrics::kl_divergence(h, h) == Approx(0.0).margin(1e-15));
  CHECK(tape::metrics::kl_divergence({1.0, 0.0}, {0.5, 0.5}) == Approx(std::log(2.0)));
  CHECK(std::isinf(tape::metrics::kl_divergence({0.5, 0.5}, {1.0, 0.0})));
}

TEST_CASE("metrics reject bad inputs with ValueError", "[metrics]") {
  using tape::metrics::Matrix;
  const Matrix empty;
  const Matrix one_row = {{1.0, 2.0}};
  const Matrix two_d = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 7.0}, {1.0, 0.0}, {2.0, 2.0}};
  const Matrix three_d = {{1.0, 2.0, 3.0}, {3.0, 4.0, 5.0}, {5.0, 7.0, 1.0}, {1.0, 0.0, 0.0}};
  const Matrix ragged = {{1.0, 2.0}, {3.0}};
  using tape::ValueError;
  CHECK_THROWS_AS(tape::metrics::frechet_distance(empty, two_d), ValueError);
  CHECK_THROWS_AS(tape::metrics::frechet_distance(one_row, two_d), ValueError);
  CHECK_THROWS_WITH(tape::metrics::frechet_distance(two_d, three_d),
                    Catch::Contains("frechet_distance") && Catch::Contains("[4, 3]"));
  CHECK_THROWS_AS(tape::metrics::frechet_distance(ragged, two_d), ValueError);
  CHECK_THROWS_AS(tape::metrics::covariance(one_row), ValueError);
  CHECK_THROWS_AS(tape::metrics::sqrt_psd(three_d), ValueError);
  CHECK_THROWS_AS(tape::metrics::symmetric_eigen(empty), ValueError);
  CHECK_THROWS_AS(tape::metrics::kid(two_d, three_d), ValueError);
  CHECK_THROWS_AS(tape::metrics::kid(two_d, one_row), ValueError);
  CHECK_THROWS_AS(tape::metrics::kid(two_d, two_d, 1), ValueError);
  CHECK_THROWS_WITH(tape::metrics::precision_recall(two_d, three_d), Catch::Contains("precision_recall"));
  CHECK_THROWS_AS(tape::metrics::precision_recall(two_d, Matrix(two_d.begin(), two_d.begin() + 3)), ValueError);
  CHECK_THROWS_AS(tape::metrics::precision_recall(two_d, two_d, 0), ValueError);
  CHECK_THROWS_AS(tape::metrics::mnist_score(empty), ValueError);
  CHECK_THROWS_WITH(tape::metrics::mnist_score(Matrix(5, std::vector<double>(10, 0.1)), 10),
                    Catch::Contains("mnist_score"));
  CHECK_THROWS_AS(tape::metrics::mnist_score(Matrix(5, std::vector<double>(10, -0.1)), 1), ValueError);
  CHECK_THROWS_AS(tape::metrics::mnist_score(Matrix(5, std::vector<double>(10, 0.1)), 0), ValueError);
  CHECK_THROWS_AS(tape::metrics::class_histogram({}, 10), ValueError);
  CHECK_THROWS_WITH(tape::metrics::class_histogram({0, 10}, 10), Catch::Contains("class_histogram"));
  CHECK_THROWS_AS(tape::metrics::class_histogram({-1}, 10), ValueError);
  CHECK_THROWS_WITH(tape::metrics::kl_divergence({0.5, 0.5}, {1.0}), Catch::Contains("kl_divergence"));
  CHECK_THROWS_AS(tape::metrics::kl_divergence({}, {}), ValueError);
}
