// The small model the checkpoint fuzz target loads into and make_seeds saves as its seed: a
// Dense, BatchNorm (moving statistics), SpectralNorm (power-iteration state) and Dense stack
// after one Adam step (so the optimizer has slots), and a generator.
#pragma once
#include "tape/nn/nn.h"

namespace tape::fuzz {

struct FuzzModel {
  nn::Sequential model{nn::Dense(4), nn::BatchNorm(), nn::LeakyReLU(0.2), nn::SpectralNorm(nn::Dense(3)), nn::Dense(2)};
  nn::Adam adam;
  Generator rng{7};

  FuzzModel() {
    model.build(Shape{3}, 1);
    Generator gen(2);
    const Tensor x = Tensor::uniform({4, 3}, gen, -1.0, 1.0), y = Tensor::uniform({4, 2}, gen, -1.0, 1.0);
    GradientTape tape;
    const Tensor loss = nn::mean_squared_error(y, model(x, true));
    const auto vars = model.trainable_variables();
    adam.apply_gradients(tape.gradient(loss, vars), vars);
  }
};

}  // namespace tape::fuzz
