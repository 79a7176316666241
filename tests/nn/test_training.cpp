// End to end: a small CNN built from tape::nn learns to separate two synthetic image classes to
// 100% training accuracy within a fixed number of steps, the same way every run.
#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
namespace nn = tape::nn;

namespace {

// Class 0: a bright horizontal bar; class 1: a bright vertical bar; both at random positions, with
// noise. images [n, 8, 8, 1], labels [n, 1].
std::pair<Tensor, Tensor> make_data(std::int64_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<float> images(static_cast<std::size_t>(n * 64)), labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const int cls = static_cast<int>(i % 2), pos = 1 + static_cast<int>(gen.uniform() * 6);
    labels[i] = static_cast<float>(cls);
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        const bool on = cls == 0 ? r == pos : c == pos;
        images[i * 64 + r * 8 + c] = (on ? 1.0f : -1.0f) + 0.3f * static_cast<float>(gen.normal());
      }
    }
  }
  return {Tensor::from_vector(images, {n, 8, 8, 1}), Tensor::from_vector(labels, {n, 1})};
}

struct Run {
  std::vector<double> losses;
  double accuracy = 0.0;
};

Run train(std::uint64_t seed) {
  auto [x, y] = make_data(64, 7);
  nn::Sequential model(nn::Conv2D(8, 3, {.padding = "same"}), nn::BatchNorm(), nn::LeakyReLU(0.2),
                       nn::MaxPool2D(), nn::Conv2D(8, 3, {.strides = {2, 2}, .padding = "same"}), nn::LeakyReLU(0.2),
                       nn::Flatten(), nn::Dropout(0.2, {.seed = 3}), nn::Dense(1));
  model.build({8, 8, 1}, seed);
  nn::Adam opt({.learning_rate = 0.01});
  Run run;
  for (int step = 0; step < 60; ++step) {
    GradientTape tape;
    Tensor logits = model(x, true);
    Tensor loss = nn::binary_cross_entropy(y, logits, {.from_logits = true});
    opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
    run.losses.push_back(loss.item());
  }
  const auto predictions = model(x, false).to_vector<float>();
  const auto truth = y.to_vector<float>();
  int correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += (predictions[i] > 0.0f) == (truth[i] > 0.5f);
  run.accuracy = double(correct) / double(truth.size());
  return run;
}

}  // namespace

TEST_CASE("a small CNN separates two synthetic classes, deterministically", "[training]") {
  const Run a = train(11), b = train(11);
  INFO("first loss " << a.losses.front() << ", last loss " << a.losses.back());
  REQUIRE(a.accuracy == 1.0);
  REQUIRE(a.losses.back() < 0.1 * a.losses.front());
  REQUIRE(a.losses == b.losses);  // bit-identical
}
