// The MNIST / Fashion-MNIST classifier: its size, that it learns a small synthetic digit-like
// task, where its checkpoint is looked for per dataset, and that a checkpoint remembers the dataset
// it was trained on (loading it for another one is refused).
#include <tape/data/batches.h>
#include <tape/data/dataset.h>

#include <tape/metrics/classifier.h>

#include "classifier_paths.h"
#include "support/temp_dir.h"
#include "support/test_support.h"

namespace nn = tape::nn;

namespace {

// n images [28, 28, 1] of two kinds: a vertical bar (label 1) or a ring (label 0), with noise.
tape::data::Dataset two_shapes(std::int64_t n, std::uint64_t seed) {
  tape::Generator gen(seed);
  std::vector<float> pixels(static_cast<std::size_t>(n * 28 * 28));
  tape::data::Dataset d;
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
  nn::Sequential model = tape::metrics::make_mnist_classifier();
  model.build({28, 28, 1}, 3);
  REQUIRE(model.count_params() == 454922);
  REQUIRE(model.output_shape() == tape::Shape({10}));
  const tape::data::Dataset data = two_shapes(32, 5);
  nn::Adam opt({.learning_rate = 1e-3});
  std::vector<std::int64_t> labels(data.labels.begin(), data.labels.end());
  for (int step = 0; step < 15; ++step) {
    tape::GradientTape tape;
    const tape::Tensor loss = nn::softmax_cross_entropy(labels, model(data.images, true));
    opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
  }
  REQUIRE(tape::metrics::accuracy(tape::metrics::predict_classes(model, data), data) == 1.0);
  REQUIRE_THROWS_AS(tape::metrics::accuracy({}, data), tape::ValueError);
}

TEST_CASE("classifier_path gives --classifier when given, else the dataset's own checkpoint", "[classifier]") {
  CHECK(examples::classifier_path("mnist") == "runs/mnist_classifier/classifier.safetensors");
  CHECK(examples::classifier_path("fashion-mnist") == "runs/fashion_classifier/classifier.safetensors");
  CHECK(examples::classifier_path("fashion-mnist", "mine.safetensors") == "mine.safetensors");
  CHECK((examples::classifier_datasets() == std::vector<std::string>{"mnist", "fashion-mnist"}));
  CHECK(examples::has_classifier("fashion-mnist"));
  CHECK_FALSE(examples::has_classifier("cifar10"));
  REQUIRE_THROWS_AS(examples::classifier_path("cifar10"), tape::ValueError);
  CHECK_THROWS_WITH(examples::classifier_path("cifar10"), Catch::Contains("--dataset") && Catch::Contains("cifar10"));
  // The data folders and printed names the other options default to.
  CHECK(tape::data::default_data_dir("mnist") == "data/mnist");
  CHECK(tape::data::default_data_dir("fashion-mnist") == tape::data::kFashionMnistDir);
  CHECK(tape::data::dataset_title("fashion-mnist") == "Fashion-MNIST");
  CHECK_THROWS_WITH(tape::data::default_data_dir("svhn"), Catch::Contains("--dataset") && Catch::Contains("svhn"));
  CHECK_THROWS_AS(tape::data::load_dataset("svhn", "some/dir", true), tape::ValueError);  // not read as CIFAR-10
}

TEST_CASE("a classifier checkpoint keeps its dataset, and loading it for another dataset names both", "[classifier]") {
  test::TempDir dir;
  nn::Sequential model = tape::metrics::make_mnist_classifier();
  model.build({28, 28, 1}, 3);
  const std::string fashion = dir.file("fashion.safetensors"), legacy = dir.file("legacy.safetensors");
  tape::metrics::save_classifier(fashion, model, "fashion-mnist", 3);
  // A checkpoint written before the dataset was stored: MNIST's.
  nn::save_checkpoint(legacy, model, nullptr, {{{"arch", "lenet-wide"}, {"seed", "3"}}, {}});

  const auto weights = model.trainable_variables()[0].value().to_vector<float>();
  nn::Sequential loaded = tape::metrics::load_mnist_classifier(fashion, "fashion-mnist");
  CHECK(loaded.trainable_variables()[0].value().to_vector<float>() == weights);
  CHECK_NOTHROW(tape::metrics::load_mnist_classifier(legacy, "mnist"));
  CHECK_NOTHROW(tape::metrics::load_mnist_classifier(legacy));

  REQUIRE_THROWS_AS(tape::metrics::load_mnist_classifier(fashion, "mnist"), tape::ValueError);
  CHECK_THROWS_WITH(tape::metrics::load_mnist_classifier(fashion, "mnist"),
                    Catch::Contains(fashion) && Catch::Contains("trained on fashion-mnist") &&
                        Catch::Contains("--dataset mnist"));
  REQUIRE_THROWS_AS(tape::metrics::load_mnist_classifier(legacy, "fashion-mnist"), tape::ValueError);
  CHECK_THROWS_WITH(tape::metrics::load_mnist_classifier(legacy, "fashion-mnist"),
                    Catch::Contains(legacy) && Catch::Contains("trained on mnist") &&
                        Catch::Contains("--dataset fashion-mnist"));
}
