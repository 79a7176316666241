// Sample-quality metrics (see metrics.h): Eigen's self-adjoint eigen-solver for the matrix square
// roots of the Fréchet distance, and float64 GEMMs through tape for the pairwise kernels and
// distances.
#include "tape/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include <Eigen/Dense>
#include <tape/tape.h>

namespace tape::metrics {
namespace {

using std::size_t;

[[noreturn]] void fail(const std::string& op, const std::string& what, const std::string& sizes) {
  throw tape::ValueError(op + ": " + what + "; " + sizes);
}

std::string dims(const Matrix& x) {
  const size_t d = x.empty() ? 0 : x.front().size();
  return "[" + std::to_string(x.size()) + ", " + std::to_string(d) + "]";
}

// A non-empty matrix whose rows all have the same non-zero width; returns that width.
size_t check_rectangular(const std::string& op, const std::string& name, const Matrix& x, size_t min_rows) {
  if (x.size() < min_rows || x.front().empty())
    fail(op, name + " needs at least " + std::to_string(min_rows) + " non-empty rows", name + "=" + dims(x));
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].size() != x.front().size())
      fail(op, name + " rows differ in width", name + " row 0 has " + std::to_string(x.front().size()) +
                                                   ", row " + std::to_string(i) + " has " +
                                                   std::to_string(x[i].size()));
  return x.front().size();
}

void check_same_width(const std::string& op, const Matrix& a, const Matrix& b) {
  if (a.front().size() != b.front().size())
    fail(op, "feature dimensions differ", "a=" + dims(a) + ", b=" + dims(b));
}

void check_square(const std::string& op, const Matrix& a) {
  if (a.empty()) fail(op, "empty matrix", "a=[0, 0]");
  for (const auto& row : a)
    if (row.size() != a.size()) fail(op, "matrix is not square", "a=" + dims(a));
}

Eigen::MatrixXd to_eigen(const Matrix& a) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(a.size()), static_cast<Eigen::Index>(a.front().size()));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = a[i][j];
  return m;
}

Matrix from_eigen(const Eigen::MatrixXd& m) {
  Matrix a(static_cast<size_t>(m.rows()), std::vector<double>(static_cast<size_t>(m.cols())));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) a[static_cast<size_t>(i)][static_cast<size_t>(j)] = m(i, j);
  return a;
}

// Eigen's solver on the symmetric part of `a` [n][n].
Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solve_symmetric(const Eigen::MatrixXd& a, int options) {
  const Eigen::MatrixXd symmetric = 0.5 * (a + a.transpose());
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(symmetric, options);
}

// V diag(sqrt(max(lambda, 0))) V^T of a symmetric matrix.
Eigen::MatrixXd sqrt_psd_eigen(const Eigen::MatrixXd& a) {
  const auto e = solve_symmetric(a, Eigen::ComputeEigenvectors);
  const Eigen::VectorXd root = e.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return e.eigenvectors() * root.asDiagonal() * e.eigenvectors().transpose();
}

double trace(const Matrix& a) {
  double t = 0.0;
  for (size_t i = 0; i < a.size(); ++i) t += a[i][i];
  return t;
}

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0.0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

double squared_distance(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0.0;
  for (size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  return s;
}

// ---------------------------------------------------------------- pairwise blocks
// The O(N^2 d) parts (KID, nearest neighbours) run as float64 GEMMs through tape, a block of
// rows at a time, so that 10,000 x 10,000 pairs take seconds and bounded memory.

constexpr size_t kRowBlock = 1000;

// Rows [r0, r1) of x as a float64 tensor [r1 - r0, d].
tape::Tensor rows_tensor(const Matrix& x, size_t r0, size_t r1) {
  const size_t d = x.front().size();
  std::vector<double> flat;
  flat.reserve((r1 - r0) * d);
  for (size_t i = r0; i < r1; ++i) flat.insert(flat.end(), x[i].begin(), x[i].end());
  return tape::Tensor::from_vector(flat, {static_cast<std::int64_t>(r1 - r0), static_cast<std::int64_t>(d)});
}

// Inner products of rows [a0, a1) of a with rows [b0, b1) of b: row-major [a1 - a0][b1 - b0].
std::vector<double> inner_products(const Matrix& a, size_t a0, size_t a1, const Matrix& b, size_t b0, size_t b1) {
  tape::NoRecord no_record;
  return tape::matmul(rows_tensor(a, a0, a1), tape::transpose(rows_tensor(b, b0, b1))).to_vector<double>();
}

std::vector<double> squared_norms(const Matrix& x) {
  std::vector<double> n(x.size());
  for (size_t i = 0; i < x.size(); ++i) n[i] = dot(x[i], x[i]);
  return n;
}

// Mean of k(x, y) = (x.y / d + 1)^3 over rows [a0, a1) x [b0, b1); `distinct` skips the diagonal
// (a and b the same rows).
double mean_cubic_kernel(const Matrix& a, size_t a0, size_t a1, const Matrix& b, size_t b0, size_t b1, bool distinct) {
  const std::vector<double> g = inner_products(a, a0, a1, b, b0, b1);
  const double d = static_cast<double>(a.front().size());
  const size_t nb = b1 - b0;
  double s = 0.0;
  for (size_t i = 0; i < a1 - a0; ++i)
    for (size_t j = 0; j < nb; ++j) {
      if (distinct && i == j) continue;
      const double v = g[i * nb + j] / d + 1.0;
      s += v * v * v;
    }
  const double pairs = static_cast<double>(a1 - a0) * static_cast<double>(distinct ? nb - 1 : nb);
  return s / pairs;
}

// Unbiased MMD^2 between rows [a0, a1) of a and [b0, b1) of b.
double mmd2_unbiased(const Matrix& a, size_t a0, size_t a1, const Matrix& b, size_t b0, size_t b1) {
  return mean_cubic_kernel(a, a0, a1, a, a0, a1, true) + mean_cubic_kernel(b, b0, b1, b, b0, b1, true) -
         2.0 * mean_cubic_kernel(a, a0, a1, b, b0, b1, false);
}

// Calls f(i, j, squared distance) for every row i of `points` and every row j of `centres`, a
// block of kRowBlock points at a time; f returns false to skip the rest of row i.
template <class F>
void for_each_squared_distance(const Matrix& points, const Matrix& centres, F&& f) {
  const std::vector<double> pn = squared_norms(points), cn = squared_norms(centres);
  const size_t nc = centres.size();
  for (size_t r0 = 0; r0 < points.size(); r0 += kRowBlock) {
    const size_t r1 = std::min(points.size(), r0 + kRowBlock);
    const std::vector<double> g = inner_products(points, r0, r1, centres, 0, nc);
    for (size_t i = r0; i < r1; ++i)
      for (size_t j = 0; j < nc; ++j)
        if (!f(i, j, std::max(0.0, pn[i] + cn[j] - 2.0 * g[(i - r0) * nc + j]))) break;
  }
}

// Squared distance from each row of x to its k-th nearest other row of x.
std::vector<double> kth_neighbour_radii2(const Matrix& x, int k) {
  std::vector<double> radii(x.size());
  std::vector<double> d;
  d.reserve(x.size());
  size_t row = 0;
  auto finish_row = [&] {
    std::nth_element(d.begin(), d.begin() + (k - 1), d.end());
    radii[row] = d[static_cast<size_t>(k - 1)];
    d.clear();
  };
  for_each_squared_distance(x, x, [&](size_t i, size_t j, double d2) {
    if (i != row) finish_row(), row = i;
    if (i != j) d.push_back(d2);
    return true;
  });
  finish_row();
  return radii;
}

// Fraction of `points` inside at least one ball (centres, squared radii).
double coverage(const Matrix& points, const Matrix& centres, const std::vector<double>& radii2) {
  std::vector<char> inside(points.size(), 0);
  for_each_squared_distance(points, centres, [&](size_t i, size_t j, double d2) {
    if (d2 <= radii2[j]) inside[i] = 1;
    return !inside[i];
  });
  return static_cast<double>(std::count(inside.begin(), inside.end(), 1)) / static_cast<double>(points.size());
}

}  // namespace

SymmetricEigen symmetric_eigen(const Matrix& a) {
  check_square("symmetric_eigen", a);
  const auto e = solve_symmetric(to_eigen(a), Eigen::ComputeEigenvectors);
  const Eigen::VectorXd& values = e.eigenvalues();
  return SymmetricEigen{std::vector<double>(values.data(), values.data() + values.size()), from_eigen(e.eigenvectors())};
}

Matrix sqrt_psd(const Matrix& a) {
  check_square("sqrt_psd", a);
  return from_eigen(sqrt_psd_eigen(to_eigen(a)));
}

std::vector<double> column_mean(const Matrix& x) {
  const size_t d = check_rectangular("column_mean", "x", x, 1);
  std::vector<double> mu(d, 0.0);
  for (const auto& row : x)
    for (size_t j = 0; j < d; ++j) mu[j] += row[j];
  for (double& m : mu) m /= static_cast<double>(x.size());
  return mu;
}

Matrix covariance(const Matrix& x) {
  const size_t d = check_rectangular("covariance", "x", x, 2);
  const std::vector<double> mu = column_mean(x);
  Matrix c(d, std::vector<double>(d, 0.0));
  std::vector<double> centred(d);
  for (const auto& row : x) {
    for (size_t j = 0; j < d; ++j) centred[j] = row[j] - mu[j];
    for (size_t i = 0; i < d; ++i)
      for (size_t j = i; j < d; ++j) c[i][j] += centred[i] * centred[j];
  }
  const double denom = static_cast<double>(x.size() - 1);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = i; j < d; ++j) c[j][i] = c[i][j] = c[i][j] / denom;
  return c;
}

std::pair<double, double> mnist_score(const Matrix& probs, int splits) {
  if (splits < 1) fail("mnist_score", "splits must be >= 1", "splits=" + std::to_string(splits));
  check_rectangular("mnist_score", "probs", probs, static_cast<size_t>(splits));
  for (const auto& row : probs)
    for (double p : row)
      if (!(p >= 0.0) || !std::isfinite(p)) fail("mnist_score", "probabilities must be finite and >= 0", "probs=" + dims(probs));
  const size_t part = probs.size() / static_cast<size_t>(splits);
  std::vector<double> scores;
  for (int s = 0; s < splits; ++s) {
    const Matrix slice(probs.begin() + static_cast<std::ptrdiff_t>(s * part),
                       probs.begin() + static_cast<std::ptrdiff_t>((s + 1) * part));
    const std::vector<double> py = column_mean(slice);
    double kl = 0.0;
    for (const auto& row : slice) kl += kl_divergence(row, py);
    scores.push_back(std::exp(kl / static_cast<double>(part)));
  }
  double mean = 0.0, var = 0.0;
  for (double x : scores) mean += x;
  mean /= static_cast<double>(splits);
  for (double x : scores) var += (x - mean) * (x - mean);
  return {mean, std::sqrt(var / static_cast<double>(splits))};
}

double frechet_distance(const Matrix& features_a, const Matrix& features_b) {
  check_rectangular("frechet_distance", "features_a", features_a, 2);
  check_rectangular("frechet_distance", "features_b", features_b, 2);
  check_same_width("frechet_distance", features_a, features_b);
  const std::vector<double> mu_a = column_mean(features_a), mu_b = column_mean(features_b);
  const Matrix sa = covariance(features_a), sb = covariance(features_b);
  const Eigen::MatrixXd root_a = sqrt_psd_eigen(to_eigen(sa));
  const auto e = solve_symmetric(root_a * to_eigen(sb) * root_a, Eigen::EigenvaluesOnly);
  const double tr_cross = e.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return squared_distance(mu_a, mu_b) + trace(sa) + trace(sb) - 2.0 * tr_cross;
}

std::pair<double, double> kid(const Matrix& features_a, const Matrix& features_b, int block) {
  check_rectangular("kid", "features_a", features_a, 2);
  check_rectangular("kid", "features_b", features_b, 2);
  check_same_width("kid", features_a, features_b);
  if (block < 2) fail("kid", "block must be >= 2", "block=" + std::to_string(block));
  const size_t na = features_a.size(), nb = features_b.size(), bs = static_cast<size_t>(block);
  size_t blocks = (std::max(na, nb) + bs - 1) / bs;
  blocks = std::max<size_t>(1, std::min({blocks, na / 2, nb / 2}));  // every block keeps >= 2 rows
  std::vector<double> values;
  for (size_t i = 0; i < blocks; ++i)
    values.push_back(mmd2_unbiased(features_a, i * na / blocks, (i + 1) * na / blocks, features_b,
                                   i * nb / blocks, (i + 1) * nb / blocks));
  double mean = 0.0, var = 0.0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(blocks);
  if (blocks == 1) return {mean, 0.0};
  for (double v : values) var += (v - mean) * (v - mean);
  var /= static_cast<double>(blocks - 1);
  return {mean, std::sqrt(var / static_cast<double>(blocks))};
}

std::pair<double, double> precision_recall(const Matrix& real, const Matrix& fake, int k) {
  if (k < 1) fail("precision_recall", "k must be >= 1", "k=" + std::to_string(k));
  const size_t min_rows = static_cast<size_t>(k) + 1;
  check_rectangular("precision_recall", "real", real, min_rows);
  check_rectangular("precision_recall", "fake", fake, min_rows);
  check_same_width("precision_recall", real, fake);
  const std::vector<double> real_r2 = kth_neighbour_radii2(real, k);
  const std::vector<double> fake_r2 = kth_neighbour_radii2(fake, k);
  return {coverage(fake, real, real_r2), coverage(real, fake, fake_r2)};
}

std::vector<double> class_histogram(const std::vector<int>& labels, int num_classes) {
  if (num_classes < 1 || labels.empty())
    fail("class_histogram", "needs labels and num_classes >= 1",
         "labels=" + std::to_string(labels.size()) + ", num_classes=" + std::to_string(num_classes));
  std::vector<double> hist(static_cast<size_t>(num_classes), 0.0);
  for (int label : labels) {
    if (label < 0 || label >= num_classes)
      fail("class_histogram", "label out of range", "label=" + std::to_string(label) +
                                                        ", num_classes=" + std::to_string(num_classes));
    hist[static_cast<size_t>(label)] += 1.0;
  }
  for (double& h : hist) h /= static_cast<double>(labels.size());
  return hist;
}

double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  if (p.empty() || p.size() != q.size())
    fail("kl_divergence", "distributions must be non-empty and of equal size",
         "p=" + std::to_string(p.size()) + ", q=" + std::to_string(q.size()));
  double kl = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] < 0.0 || q[i] < 0.0)
      fail("kl_divergence", "negative probability", "index=" + std::to_string(i));
    if (p[i] == 0.0) continue;
    if (q[i] == 0.0) return std::numeric_limits<double>::infinity();
    kl += p[i] * std::log(p[i] / q[i]);
  }
  return kl;
}

}  // namespace tape::metrics
