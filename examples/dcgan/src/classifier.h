// The MNIST classifier that measures what a DCGAN learned: a LeNet-style CNN, its predictions,
// its class probabilities and its penultimate-layer features (in float64, for the metrics).
#pragma once
#include <string>
#include <vector>

#include <tape/nn/nn.h>

#include "data.h"
#include "metrics.h"

namespace dcgan {

// LeNet-5's layout (two conv + pool stages, then dense layers) with wider layers, ReLU and max
// pooling: [N, 28, 28, 1] -> logits [N, 10]; 454,922 parameters. Layer kFeatureLayer (Dense 128,
// ReLU) gives the features.
tape::nn::Sequential make_mnist_classifier();
inline constexpr std::size_t kFeatureLayer = 5;

// A classifier saved by examples/mnist_classifier, ready for inference. Restarts Keras-style
// naming first (nn::clear_session), so the layer names match the ones the saving process gave;
// models built earlier keep theirs. Throws tape::IOError naming the file when it does not fit.
tape::nn::Sequential load_mnist_classifier(const std::string& path);

// What the classifier makes of N images [N, 28, 28, 1] (inference mode, batches of 500).
struct ClassifierOutputs {
  metrics::Matrix probabilities;  // [N][10], softmax of the logits computed in float64
  metrics::Matrix features;       // [N][128], the penultimate layer (post-ReLU)
  std::vector<int> classes;       // [N], argmax of the logits
};
ClassifierOutputs classify(tape::nn::Sequential& model, const tape::Tensor& images);

// Predicted classes of every image of `data`.
std::vector<int> predict_classes(tape::nn::Sequential& model, const Dataset& data);
// Fraction of predictions equal to the labels.
double accuracy(const std::vector<int>& predicted, const Dataset& data);

}  // namespace dcgan
