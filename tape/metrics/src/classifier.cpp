// The sample-quality classifier: architecture, saving and loading (with the
// dataset it was trained on), and batched inference to classes, probabilities and features.
#include "tape/metrics/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tape::metrics {

namespace nn = tape::nn;
using tape::Tensor;

nn::Sequential make_mnist_classifier() {
  return nn::Sequential::named(
      "classifier", nn::Conv2D(32, 5, {.padding = "same", .activation = nn::Activation::relu}), nn::MaxPool2D(),
      nn::Conv2D(64, 5, {.padding = "same", .activation = nn::Activation::relu}), nn::MaxPool2D(), nn::Flatten(),
      nn::Dense(128, {.activation = nn::Activation::relu}), nn::Dropout(0.3), nn::Dense(10));
}

void save_classifier(const std::string& path, const nn::Sequential& model, const std::string& dataset,
                     std::uint64_t seed) {
  nn::save_checkpoint(path, model, nullptr,
                      {{{"arch", "lenet-wide"}, {"dataset", dataset}, {"seed", std::to_string(seed)}}, {}});
}

nn::Sequential load_mnist_classifier(const std::string& path, const std::string& dataset) {
  nn::Sequential model = make_mnist_classifier();
  tape::Generator unused(0);
  model.build({28, 28, 1}, unused);
  const auto metadata = nn::load_checkpoint(path, model);
  const auto stored = metadata.find("dataset");
  const std::string trained_on = stored == metadata.end() ? "mnist" : stored->second;
  if (trained_on != dataset) {
    throw tape::ValueError("classifier " + path + " was trained on " + trained_on + ", not on --dataset " + dataset +
                           " (train one with mnist_classifier --dataset " + dataset + ", or pass --classifier)");
  }
  return model;
}

namespace {

// Rows of a [n, d] tensor as float64 vectors, appended to `out`.
void append_rows(const Tensor& t, Matrix& out) {
  const auto values = t.to(tape::DType::f64).to_vector<double>();
  const std::size_t d = static_cast<std::size_t>(t.dim(1));
  for (std::size_t i = 0; i < values.size(); i += d) out.emplace_back(values.begin() + i, values.begin() + i + d);
}

}  // namespace

ClassifierOutputs classify(nn::Sequential& model, const Tensor& images) {
  // images [N, 28, 28, 1] -> features [N, 128] (layers 0..kFeatureLayer) -> logits [N, 10]
  if (images.rank() != 4) throw tape::ShapeError("classify: images must be [N, H, W, C], got " + images.shape().to_string());
  tape::NoRecord no_record;
  ClassifierOutputs out;
  constexpr std::int64_t kBatch = 500;
  const std::int64_t n = images.dim(0);
  for (std::int64_t n0 = 0; n0 < n; n0 += kBatch) {
    Tensor x = tape::slice(images, {n0, 0, 0, 0}, {std::min(kBatch, n - n0), -1, -1, -1});
    for (std::size_t i = 0; i < model.size(); ++i) {
      x = model[i](x, false);
      if (i == kFeatureLayer) append_rows(x, out.features);
    }
    append_rows(nn::softmax(x.to(tape::DType::f64)), out.probabilities);  // float64 softmax of the logits
  }
  for (const auto& row : out.probabilities)
    out.classes.push_back(static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
  return out;
}

std::vector<int> predict_classes(nn::Sequential& model, const tape::data::Dataset& data) {
  return classify(model, data.images).classes;
}

double accuracy(const std::vector<int>& predicted, const tape::data::Dataset& data) {
  if (predicted.empty() || predicted.size() != data.labels.size()) {
    throw tape::ValueError("accuracy: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(data.labels.size()) + " labels");
  }
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == data.labels[i];
  return double(correct) / double(predicted.size());
}

}  // namespace tape::metrics
