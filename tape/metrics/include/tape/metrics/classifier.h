// The classifier the sample-quality metrics of 28x28 gray images (MNIST, Fashion-MNIST) are
// measured with: a LeNet-style CNN, its checkpoint with the dataset it was trained on, its
// predictions, its class probabilities and its penultimate-layer features (in float64, for
// metrics.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tape/nn/nn.h>

#include "tape/data/dataset.h"
#include "tape/metrics/metrics.h"

namespace tape::metrics {

// LeNet-5's layout (two conv + pool stages, then dense layers) with wider layers, ReLU and max
// pooling: [N, 28, 28, 1] -> logits [N, 10]; 454,922 parameters. Layer kFeatureLayer (Dense 128,
// ReLU) gives the features.
tape::nn::Sequential make_mnist_classifier();
inline constexpr std::size_t kFeatureLayer = 5;

// Saves a trained classifier with its metadata: arch, dataset (the one it was trained on), seed.
void save_classifier(const std::string& path, const tape::nn::Sequential& model, const std::string& dataset,
                     std::uint64_t seed);

// A classifier saved by save_classifier (examples/mnist_classifier trains one), ready for
// inference (its layer names are numbered per model, so they match the saved ones whatever else
// this process built). Throws tape::IOError naming the file when it does not fit, and
// tape::ValueError naming the file and both datasets when it was trained on another dataset than
// `dataset` (a checkpoint without the dataset in its metadata counts as MNIST's).
tape::nn::Sequential load_mnist_classifier(const std::string& path, const std::string& dataset = "mnist");

// What the classifier makes of N images [N, 28, 28, 1] (inference mode, batches of 500).
struct ClassifierOutputs {
  Matrix probabilities;      // [N][10], softmax of the logits computed in float64
  Matrix features;           // [N][128], the penultimate layer (post-ReLU)
  std::vector<int> classes;  // [N], argmax of the logits
};
ClassifierOutputs classify(tape::nn::Sequential& model, const tape::Tensor& images);

// Predicted classes of every image of `data`.
std::vector<int> predict_classes(tape::nn::Sequential& model, const tape::data::Dataset& data);
// Fraction of predictions equal to the labels.
double accuracy(const std::vector<int>& predicted, const tape::data::Dataset& data);

}  // namespace tape::metrics
