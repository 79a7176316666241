// The MNIST classifier: architecture and batched inference.
#include "classifier.h"

#include <algorithm>

namespace dcgan {

namespace nn = tape::nn;

nn::Sequential make_mnist_classifier() {
  return nn::Sequential::named(
      "classifier", nn::Conv2D(32, 5, {.padding = "same", .activation = nn::Activation::relu}), nn::MaxPool2D(),
      nn::Conv2D(64, 5, {.padding = "same", .activation = nn::Activation::relu}), nn::MaxPool2D(), nn::Flatten(),
      nn::Dense(128, {.activation = nn::Activation::relu}), nn::Dropout(0.3), nn::Dense(10));
}

std::vector<int> predict_classes(nn::Sequential& model, const Dataset& data) {
  tape::NoRecord no_record;
  std::vector<int> out;
  constexpr std::int64_t kBatch = 500;
  for (std::int64_t n0 = 0; n0 < data.size(); n0 += kBatch) {
    const std::int64_t nb = std::min(kBatch, data.size() - n0);
    std::vector<std::int64_t> idx(static_cast<std::size_t>(nb));
    for (std::int64_t i = 0; i < nb; ++i) idx[static_cast<std::size_t>(i)] = n0 + i;
    const tape::Tensor logits = model(gather_images(data, idx), false);
    const auto values = logits.to_vector<float>();
    const std::int64_t classes = logits.dim(1);
    for (std::int64_t i = 0; i < nb; ++i) {
      const float* row = values.data() + i * classes;
      out.push_back(static_cast<int>(std::max_element(row, row + classes) - row));
    }
  }
  return out;
}

double accuracy(const std::vector<int>& predicted, const Dataset& data) {
  if (predicted.empty() || predicted.size() != data.labels.size()) {
    throw tape::ValueError("accuracy: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(data.labels.size()) + " labels");
  }
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == data.labels[i];
  return double(correct) / double(predicted.size());
}

}  // namespace dcgan
