// mnist_classifier: a LeNet-style CNN trained with tape on MNIST or Fashion-MNIST (--dataset),
// deterministic from its seed; prints progress and test accuracy each epoch and a confusion matrix
// at the end, and saves its weights and the dataset's name as a checkpoint (the feature extractor
// for the DCGAN's sample-quality metrics on that dataset).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <tape/data/batches.h>
#include <tape/data/dataset.h>
#include <tape/metrics/classifier.h>
#include <tape/nn/nn.h>

#include "classifier_paths.h"

namespace nn = tape::nn;
using tape::Tensor;

namespace {

struct Options {
  std::string dataset = "mnist";
  std::string data;  // default: the dataset's folder (tape::data::default_data_dir)
  std::string out;   // default: examples::classifier_path(dataset)
  std::int64_t epochs = 3;
  std::int64_t batch = 64;
  double lr = 1e-3;
  double lr_decay = 0.5;  // the learning rate is multiplied by this after every epoch
  std::uint64_t seed = 1;
  int threads = 0;
};

std::vector<std::int64_t> labels_of(const tape::data::Dataset& data, const std::vector<std::int64_t>& idx) {
  std::vector<std::int64_t> out;
  for (auto i : idx) out.push_back(data.labels[static_cast<std::size_t>(i)]);
  return out;
}

void print_confusion(const std::vector<int>& predicted, const tape::data::Dataset& data, const std::string& dataset) {
  std::int64_t m[10][10] = {};
  for (std::size_t i = 0; i < predicted.size(); ++i) ++m[data.labels[i]][predicted[i]];
  std::printf("Confusion matrix (rows: true %s, columns: predicted):\n     ", dataset == "mnist" ? "digit" : "class");
  for (int c = 0; c < 10; ++c) std::printf("%6d", c);
  std::printf("\n");
  for (int r = 0; r < 10; ++r) {
    std::printf("%5d", r);
    for (int c = 0; c < 10; ++c) std::printf("%6lld", static_cast<long long>(m[r][c]));
    std::printf("\n");
  }
}

int run(const Options& o) {
  if (o.threads > 0) tape::set_num_threads(o.threads);
  const std::string out = examples::classifier_path(o.dataset, o.out);
  const tape::data::Dataset train = tape::data::load_dataset(o.dataset, o.data, true);
  const tape::data::Dataset test = tape::data::load_dataset(o.dataset, o.data, false);
  nn::Sequential model = tape::metrics::make_mnist_classifier();
  model.build({28, 28, 1}, o.seed);
  model.summary(std::cout);
  nn::Adam opt({.learning_rate = o.lr});
  tape::Generator shuffle(o.seed + 1);
  const std::int64_t steps = train.size() / o.batch;
  for (std::int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto order = tape::data::shuffled_indices(train.size(), shuffle);
    double loss_sum = 0.0;
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::vector<std::int64_t> idx(order.begin() + s * o.batch, order.begin() + (s + 1) * o.batch);
      tape::GradientTape tape;
      const Tensor loss = nn::softmax_cross_entropy(labels_of(train, idx), model(tape::data::gather_images(train, idx), true));
      opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
      loss_sum += loss.item();
      if ((s + 1) % 200 == 0) {
        std::printf("epoch %lld step %lld/%lld  loss %.4f\n", static_cast<long long>(epoch), static_cast<long long>(s + 1),
                    static_cast<long long>(steps), loss_sum / double(s + 1));
        std::fflush(stdout);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto predicted = tape::metrics::predict_classes(model, test);
    std::printf("epoch %lld: train loss %.4f, test accuracy %.2f%% (lr %.2g, %.0f s)\n", static_cast<long long>(epoch),
                loss_sum / double(steps), 100.0 * tape::metrics::accuracy(predicted, test), opt.learning_rate(), seconds);
    std::fflush(stdout);
    opt.set_learning_rate(opt.learning_rate() * o.lr_decay);
  }
  const auto predicted = tape::metrics::predict_classes(model, test);
  print_confusion(predicted, test, o.dataset);
  std::printf("Test accuracy: %.2f%% on %lld images (seed %llu)\n", 100.0 * tape::metrics::accuracy(predicted, test),
              static_cast<long long>(test.size()), static_cast<unsigned long long>(o.seed));
  std::filesystem::create_directories(std::filesystem::path(out).parent_path());
  tape::metrics::save_classifier(out, model, o.dataset, o.seed);
  std::printf("Saved %s\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"mnist_classifier: a LeNet-style CNN trained with tape on MNIST or Fashion-MNIST"};
  app.add_option("--dataset", o.dataset, "mnist | fashion-mnist")
      ->check(CLI::IsMember(examples::classifier_datasets()))->capture_default_str();
  app.add_option("--data", o.data, "folder with the dataset's IDX files (default: " + tape::data::default_data_dir("mnist") +
                                   " from scripts/fetch-mnist.sh, or " + tape::data::default_data_dir("fashion-mnist") +
                                   " from the Debian package dataset-fashion-mnist)");
  app.add_option("--out", o.out, "checkpoint to write (default: " + examples::classifier_path("mnist") + ", or " +
                                 examples::classifier_path("fashion-mnist") + " for fashion-mnist)");
  app.add_option("--epochs", o.epochs, "passes over the training set")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", o.batch, "images per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  app.add_option("--lr-decay", o.lr_decay, "learning-rate factor after each epoch")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the weights, the shuffling and Dropout")->capture_default_str();
  app.add_option("--threads", o.threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "mnist_classifier: " << e.what() << "\n";
    return 1;
  }
}
