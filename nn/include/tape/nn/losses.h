// Losses: binary cross-entropy (from logits, stable; or from probabilities, clipped), hinge, mean
// squared error and softmax cross-entropy with integer labels; reductions mean/sum/none.
#pragma once
#include <cstdint>
#include <vector>

#include "tape/tape.h"

namespace tape::nn {

enum class Reduction { mean, sum, none };

struct BCEOptions {
  bool from_logits = false;
  // Keras: labels become labels * (1 - s) + 0.5 * s.
  double label_smoothing = 0.0;
  Reduction reduction = Reduction::mean;
  // Probabilities are clipped to [epsilon, 1 - epsilon] (Keras' backend epsilon).
  double epsilon = 1e-7;
};

// labels[...], predictions[...] (same shape) -> scalar (mean/sum) or [...] (none).
// From logits: max(z, 0) - z * y + log(1 + exp(-|z|)), finite for any z.
Tensor binary_cross_entropy(const Tensor& labels, const Tensor& predictions, const BCEOptions& options = {});

// Keras' hinge: labels[...] of -1 or 1, predictions[...] (same shape) -> mean(max(1 - y p, 0))
// (or sum / elementwise). The GAN hinge loss (Lim & Ye 2017, SAGAN, BigGAN) is, for the
// discriminator, hinge(1, D(x)) + hinge(-1, D(G(z))). Throws ValueError for another label value.
Tensor hinge(const Tensor& labels, const Tensor& predictions, Reduction reduction = Reduction::mean);

// labels[...], predictions[...] -> mean((p - y)^2) (or sum / elementwise).
Tensor mean_squared_error(const Tensor& labels, const Tensor& predictions, Reduction reduction = Reduction::mean);

// labels: class indices in [0, C); logits[N, C] -> scalar (mean/sum) or [N] (none).
Tensor softmax_cross_entropy(const std::vector<std::int64_t>& labels, const Tensor& logits,
                             Reduction reduction = Reduction::mean);

// Log-softmax and softmax over the last axis, [..., C] -> [..., C]: tape's (tape/ops.h), also
// reachable here.
using tape::log_softmax;
using tape::softmax;

}  // namespace tape::nn
