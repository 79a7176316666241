// The MNIST classifier: its size, and that it learns a small synthetic digit-like task.
#include "classifier.h"
#include "support/test_support.h"

namespace nn = tape::nn;

namespace {

// n images [28, 28, 1] of two kinds: a vertical bar (label 1) or a ring (label 0), with noise.
dcgan::Dataset two_shapes(std::int64_t n, std::uint64_t seed) {
  tape::Generator gen(seed);
  std::vector<float> pixels(static_cast<std::size_t>(n * 28 * 28));
  dcgan::Dataset d;
  for (std::int64_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % 2);
    d.labels.push_back(static_cast<std::uint8_t>(label));
    for (int r = 0; r < 28; ++r) {
      for (int c = 0; c < 28; ++c) {
        const double dr = r - 13.5, dc = c - 13.5, radius = std::sqrt(dr * dr + dc * dc);
        const bool on = label == 1 ? std::abs(dc) < 2.5 && std::abs(dr) < 10 : std::abs(radius - 8.0) < 2.0;
        pixels[static_cast<std::size_t>((i * 28 + r) * 28 + c)] =
            (on ? 1.0f : -1.0f) + 0.2f * static_cast<float>(gen.normal());
      }
    }
  }
  d.images = tape::Tensor::from_vector(pixels, {n, 28, 28, 1});
  d.name = "two-shapes";
  return d;
}

}  // namespace

TEST_CASE("the MNIST classifier has LeNet's shape and learns a two-shape task", "[classifier]") {
  nn::clear_session();
  nn::Sequential model = dcgan::make_mnist_classifier();
  model.build({28, 28, 1}, 3);
  REQUIRE(model.count_params() == 454922);
  REQUIRE(model.output_shape() == tape::Shape({10}));
  const dcgan::Dataset data = two_shapes(32, 5);
  nn::Adam opt({.learning_rate = 1e-3});
  std::vector<std::int64_t> labels(data.labels.begin(), data.labels.end());
  for (int step = 0; step < 15; ++step) {
    tape::GradientTape tape;
    const tape::Tensor loss = nn::softmax_cross_entropy(labels, model(data.images, true));
    opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
  }
  REQUIRE(dcgan::accuracy(dcgan::predict_classes(model, data), data) == 1.0);
  REQUIRE_THROWS_AS(dcgan::accuracy({}, data), tape::ValueError);
}
