// Losses, composed of recorded ops so that they are differentiable to any order.
#include "tape/nn/losses.h"

#include <string>

namespace tape::nn {
namespace {

Tensor reduce(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::sum: return sum(per_element);
    case Reduction::none: return per_element;
    default: return mean(per_element);
  }
}

void require_same_shape(const char* op, const Tensor& labels, const Tensor& predictions) {
  if (!labels.defined() || !predictions.defined()) throw ValueError(std::string(op) + ": undefined input");
  if (labels.shape() != predictions.shape()) {
    throw ShapeError(std::string(op) + ": labels and predictions differ in shape; labels=" +
                     labels.shape().to_string() + ", predictions=" + predictions.shape().to_string());
  }
}

}  // namespace

// labels[...], predictions[...] -> scalar or [...]
Tensor binary_cross_entropy(const Tensor& labels, const Tensor& predictions, const BCEOptions& o) {
  require_same_shape("binary_cross_entropy", labels, predictions);
  Tensor y = labels.dtype() == predictions.dtype() ? labels : labels.to(predictions.dtype());
  if (o.label_smoothing != 0.0) y = y * (1.0 - o.label_smoothing) + 0.5 * o.label_smoothing;
  Tensor loss;
  if (o.from_logits) {
    // softplus(z) - z y = max(z, 0) - z y + log(1 + exp(-|z|)): finite for any z, smooth.
    loss = softplus(predictions) - predictions * y;
  } else {
    Tensor p = clip(predictions, o.epsilon, 1.0 - o.epsilon);
    loss = -(y * log(p) + (1.0 - y) * log(1.0 - p));
  }
  return reduce(loss, o.reduction);
}

// labels[...] in {-1, 1}, predictions[...] -> scalar or [...]
Tensor hinge(const Tensor& labels, const Tensor& predictions, Reduction reduction) {
  require_same_shape("hinge", labels, predictions);
  const Tensor y = labels.dtype() == predictions.dtype() ? labels : labels.to(predictions.dtype());
  const std::vector<double> values = labels.to_vector<double>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 1.0 && values[i] != -1.0) {
      throw ValueError("hinge: labels must be -1 or 1, got " + std::to_string(values[i]) + " at flat index " +
                       std::to_string(i) + "; labels=" + labels.shape().to_string());
    }
  }
  return reduce(relu(1.0 - y * predictions), reduction);
}

Tensor mean_squared_error(const Tensor& labels, const Tensor& predictions, Reduction reduction) {
  require_same_shape("mean_squared_error", labels, predictions);
  return reduce(square(predictions - labels), reduction);
}

// labels[N] in [0, C), logits[N, C] -> scalar or [N]
Tensor softmax_cross_entropy(const std::vector<std::int64_t>& labels, const Tensor& logits, Reduction reduction) {
  if (!logits.defined() || logits.rank() != 2 || static_cast<std::int64_t>(labels.size()) != logits.dim(0)) {
    throw ShapeError("softmax_cross_entropy: needs logits [N, C] and N labels; logits=" +
                     (logits.defined() ? logits.shape().to_string() : std::string("undefined")) +
                     ", labels=[" + std::to_string(labels.size()) + "]");
  }
  const std::int64_t n = logits.dim(0), c = logits.dim(1);
  for (std::int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= c) {
      throw ValueError("softmax_cross_entropy: label " + std::to_string(labels[i]) + " at " + std::to_string(i) +
                       " outside [0, " + std::to_string(c) + "); logits=" + logits.shape().to_string());
    }
  }
  const Tensor targets = one_hot(Tensor::from_vector(std::vector<double>(labels.begin(), labels.end())), c).to(logits.dtype());
  return reduce(-sum(targets * log_softmax(logits), {1}), reduction);
}

}  // namespace tape::nn
