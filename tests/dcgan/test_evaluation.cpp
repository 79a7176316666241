// Sample-quality evaluation per dataset: dcgan eval and train --eval-every find the dataset's classifier (and refuse one trained on another dataset
// before reading any data), and a Fashion-MNIST run keeps metrics.csv with MNIST's column names
// (that test only where the Debian package dataset-fashion-mnist is installed).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tape/data/batches.h>
#include <tape/metrics/classifier.h>
#include <tape/data/dataset.h>

#include "data_files.h"
#include "evaluation.h"
#include "support/test_support.h"
#include "trainer.h"

using namespace test_files;
namespace nn = tape::nn;

namespace {

// Runs a test body in `dir` and returns to the previous working directory afterwards, so that
// relative default paths (runs/...) resolve to where nothing exists.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : previous_(fs::current_path()) { fs::current_path(dir); }
  ~WorkingDirectory() { fs::current_path(previous_); }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  fs::path previous_;
};

// An untrained classifier saved as trained on `dataset`.
std::string write_classifier(const TempDir& dir, const std::string& dataset) {
  nn::Sequential model = tape::metrics::make_mnist_classifier();
  model.build({28, 28, 1}, 1);
  const std::string path = dir.file(dataset + "-classifier.safetensors");
  tape::metrics::save_classifier(path, model, dataset, 1);
  return path;
}

// n blank 28x28 images as an IDX file (what dcgan eval --samples reads).
std::string write_samples(const TempDir& dir, std::uint32_t n) {
  const std::string path = dir.file("samples.idx");
  write_bytes(path, idx_bytes(2051, {n, 28, 28}, Bytes(static_cast<std::size_t>(n) * 28 * 28, 0)));
  return path;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("dcgan eval refuses a classifier of another dataset before reading data, naming both", "[eval]") {
  TempDir dir;
  dcgan::EvalConfig c;
  c.samples = write_samples(dir, 10);
  c.n = 10;
  c.data_dir = dir.file("no-data-here");  // never read: the classifier is checked first
  c.json = dir.file("metrics.json");
  SECTION("an MNIST classifier with --dataset fashion-mnist") {
    c.dataset = "fashion-mnist";
    c.classifier = write_classifier(dir, "mnist");
    REQUIRE_THROWS_AS(dcgan::evaluate_checkpoint(c), tape::ValueError);
    CHECK_THROWS_WITH(dcgan::evaluate_checkpoint(c), Catch::Contains(c.classifier) &&
                                                         Catch::Contains("trained on mnist") &&
                                                         Catch::Contains("--dataset fashion-mnist"));
  }
  SECTION("a Fashion-MNIST classifier with the default --dataset mnist") {
    c.classifier = write_classifier(dir, "fashion-mnist");
    REQUIRE_THROWS_AS(dcgan::evaluate_checkpoint(c), tape::ValueError);
    CHECK_THROWS_WITH(dcgan::evaluate_checkpoint(c), Catch::Contains(c.classifier) &&
                                                         Catch::Contains("trained on fashion-mnist") &&
                                                         Catch::Contains("--dataset mnist"));
  }
}

TEST_CASE("dcgan eval --dataset fashion-mnist looks for the Fashion-MNIST classifier by default", "[eval]") {
  TempDir dir;
  const WorkingDirectory in(dir.path());  // where runs/ does not exist
  dcgan::EvalConfig c;
  c.samples = write_samples(dir, 10);
  c.n = 10;
  c.json = dir.file("metrics.json");
  c.dataset = "fashion-mnist";
  REQUIRE_THROWS_AS(dcgan::evaluate_checkpoint(c), tape::IOError);
  CHECK_THROWS_WITH(dcgan::evaluate_checkpoint(c), Catch::Contains("runs/fashion_classifier/classifier.safetensors"));
  c.dataset = "mnist";
  CHECK_THROWS_WITH(dcgan::evaluate_checkpoint(c), Catch::Contains("runs/mnist_classifier/classifier.safetensors"));
}

TEST_CASE("train --eval-every needs a dataset with a classifier", "[eval][train]") {
  TempDir data, out;
  for (int b = 1; b <= 5; ++b) write_bytes(data.file("data_batch_" + std::to_string(b) + ".bin"), cifar_records(4));
  dcgan::TrainConfig c;
  c.dataset = "cifar10";
  c.arch = "cifar";
  c.data_dir = data.str();
  c.batch = 4;
  c.steps = 2;
  c.samples = 4;
  c.eval_every = 1;
  c.out = out.file("run");
  REQUIRE_THROWS_AS(dcgan::train(c), tape::ValueError);
  CHECK_THROWS_WITH(dcgan::train(c), Catch::Contains("--eval-every") && Catch::Contains("--dataset cifar10"));
}

TEST_CASE("train --eval-every on Fashion-MNIST scores with the Fashion-MNIST classifier", "[eval][train][fashion]") {
  if (!fashion_mnist_installed()) {
    WARN("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist): not run");
    return;
  }
  TempDir dir;
  dcgan::TrainConfig c = tiny_fashion_config(dir.file("run"));
  c.eval_every = 2;
  c.eval_n = 10;
  SECTION("its own classifier: metrics.csv keeps MNIST's column names") {
    c.classifier = write_classifier(dir, "fashion-mnist");
    REQUIRE(dcgan::train(c) == 0);
    const std::vector<std::string> rows = lines_of(c.out + "/metrics.csv");
    REQUIRE(rows.size() == 3);  // header, steps 0 and 2
    CHECK(rows[0].rfind("step,wall_time,mnist_score,mnist_score_std,fid,", 0) == 0);
    CHECK(rows[2].rfind("2,", 0) == 0);
  }
  SECTION("an MNIST classifier is refused") {
    c.classifier = write_classifier(dir, "mnist");
    CHECK_THROWS_WITH(dcgan::train(c), Catch::Contains(c.classifier) && Catch::Contains("trained on mnist") &&
                                           Catch::Contains("--dataset fashion-mnist"));
  }
  SECTION("without --classifier, runs/fashion_classifier/classifier.safetensors") {
    const WorkingDirectory in(dir.path());
    CHECK_THROWS_WITH(dcgan::train(c), Catch::Contains("runs/fashion_classifier/classifier.safetensors"));
  }
}
