// Sample-quality metrics for generated images, on plain float64 matrices: MNIST score (the
// Inception score with an MNIST classifier), Fréchet distance, KID, improved precision/recall and
// class histograms. Features and probabilities come from a classifier run elsewhere; this module
// is only the maths. Every function validates its inputs and throws tape::ValueError naming the
// function and the offending sizes.
#pragma once
#include <utility>
#include <vector>

namespace tape::metrics {

// Row-major [n][d]: one row per sample.
using Matrix = std::vector<std::vector<double>>;

// Eigen-decomposition of a symmetric matrix: a = vectors * diag(values) * vectors^T, with the
// eigenvectors in the columns of `vectors` and the values in ascending order.
struct SymmetricEigen {
  std::vector<double> values;
  Matrix vectors;
};

// Eigen's SelfAdjointEigenSolver on a square symmetric matrix (only the symmetric part is used).
SymmetricEigen symmetric_eigen(const Matrix& a);

// Principal square root of a symmetric positive semi-definite matrix; eigenvalues below zero
// (round-off) are clamped to 0.
Matrix sqrt_psd(const Matrix& a);

// Column means [d] and unbiased (n - 1) covariance [d][d] of `x` [n][d], n >= 2.
std::vector<double> column_mean(const Matrix& x);
Matrix covariance(const Matrix& x);

// exp(mean_i KL(p(y|x_i) || p(y))) with p(y) the mean over the split, computed on `splits` equal
// consecutive splits of `probs` [n][classes] (the n % splits trailing rows are unused).
// Returns {mean, population std} over the splits. Range [1, classes].
std::pair<double, double> mnist_score(const Matrix& probs, int splits = 10);

// ||mu_a - mu_b||^2 + Tr Sa + Tr Sb - 2 Tr sqrt(sqrt(Sa) Sb sqrt(Sa)) with unbiased covariances.
double frechet_distance(const Matrix& features_a, const Matrix& features_b);

// Kernel inception distance with k(x, y) = (x.y / d + 1)^3: the unbiased MMD^2 on
// ceil(max(na, nb) / block) blocks (consecutive, near-equal slices of each set, each of at most
// `block` rows when possible and at least 2). Returns {mean, standard error} over the blocks
// (standard error 0 with one block).
std::pair<double, double> kid(const Matrix& features_a, const Matrix& features_b, int block = 1000);

// Improved precision and recall (Kynkäänniemi et al. 2019): each point's radius is the Euclidean
// distance to its k-th nearest neighbour in its own set; precision is the fraction of fake points
// inside some real ball, recall the fraction of real points inside some fake ball. Returns
// {precision, recall}. Needs more than k points in each set.
std::pair<double, double> precision_recall(const Matrix& real, const Matrix& fake, int k = 3);

// Fraction of `labels` in each class [0, num_classes); labels outside the range throw.
std::vector<double> class_histogram(const std::vector<int>& labels, int num_classes = 10);

// KL(p || q) = sum p_i log(p_i / q_i), natural log, 0 log 0 = 0; +infinity when some q_i = 0 < p_i.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q);

}  // namespace tape::metrics
