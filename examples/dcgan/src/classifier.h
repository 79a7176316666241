// The MNIST classifier that measures what a DCGAN learned: a LeNet-style CNN, its predictions
// and its penultimate-layer features.
#pragma once
#include <vector>

#include <tape/nn/nn.h>

#include "data.h"

namespace dcgan {

// LeNet-5's layout (two conv + pool stages, then dense layers) with wider layers, ReLU and max
// pooling: [N, 28, 28, 1] -> logits [N, 10]; 454,922 parameters. Layer 5 (Dense 128, ReLU) gives
// the features.
tape::nn::Sequential make_mnist_classifier();

// Predicted classes of every image of `data` (inference mode, batches of 500).
std::vector<int> predict_classes(tape::nn::Sequential& model, const Dataset& data);
// Fraction of predictions equal to the labels.
double accuracy(const std::vector<int>& predicted, const Dataset& data);

}  // namespace dcgan
