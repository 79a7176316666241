// Metric sanity on real MNIST with a trained classifier (ctest label "mnist": needs data/mnist and
// the classifier the fixture test trains). Sets of real images that are known to be good, noisy,
// blurred, repeated, missing classes or collapsed to one class must score in that order.
// TAPE_MNIST_DIR (the IDX files) and TAPE_MNIST_CLASSIFIER (the checkpoint) come from CMake; the
// environment variables of the same names override them.
#include <cstdlib>
#include <iostream>
#include <map>

#include <catch2/catch.hpp>

#include <tape/data/batches.h>
#include <tape/metrics/classifier.h>
#include <tape/data/dataset.h>

#include <tape/metrics/report.h>

namespace nn = tape::nn;
using tape::metrics::QualityReport;
using tape::Tensor;

namespace {

std::string setting(const char* name, const char* built_in) {
  const char* v = std::getenv(name);
  return v ? v : built_in;
}

constexpr std::int64_t kN = 10000;

// The classifier, a reference set (10,000 random training images) and the sets to score.
struct MnistSets {
  nn::Sequential classifier = tape::metrics::load_mnist_classifier(setting("TAPE_MNIST_CLASSIFIER", TAPE_MNIST_CLASSIFIER));
  tape::data::Dataset train = tape::data::load_mnist(setting("TAPE_MNIST_DIR", TAPE_MNIST_DIR), true);
  tape::data::Dataset test = tape::data::load_mnist(setting("TAPE_MNIST_DIR", TAPE_MNIST_DIR), false);
  std::vector<std::int64_t> order;
  tape::metrics::ClassifierOutputs reference;
  std::vector<double> test_histogram;
  std::map<std::string, QualityReport> reports;

  MnistSets() {
    tape::Generator gen(11);
    order = tape::data::shuffled_indices(train.size(), gen);
    reference = tape::metrics::classify(classifier, images(0, kN));
    test_histogram = tape::metrics::class_histogram(std::vector<int>(test.labels.begin(), test.labels.end()), 10);
  }
  // Training images order[begin, end).
  Tensor images(std::int64_t begin, std::int64_t end) const {
    return tape::data::gather_images(train, std::vector<std::int64_t>(order.begin() + begin, order.begin() + end));
  }
  const QualityReport& score(const std::string& name, const Tensor& set) {
    auto it = reports.find(name);
    if (it == reports.end())
      it = reports.emplace(name, tape::metrics::evaluate_quality(tape::metrics::classify(classifier, set), reference, test_histogram)).first;
    return it->second;
  }
};

MnistSets& sets() {
  static MnistSets s;
  return s;
}

// Each pixel of x [N, 28, 28, 1] replaced by the mean of its 3x3 neighbourhood (a box blur; outside
// the image counts as background, -1).
Tensor blurred(const Tensor& x) {
  tape::NoRecord no_record;
  const Tensor kernel = Tensor::full({3, 3, 1, 1}, 1.0 / 9.0);
  return tape::conv2d(x + 1.0, kernel, {.padding = tape::Padding::same()}) - 1.0;
}

Tensor with_noise(const Tensor& x, double stddev) {
  tape::Generator gen(12);
  return tape::clip(x + Tensor::normal(x.shape(), gen, 0.0, stddev), -1.0, 1.0);
}

Tensor repeated(const Tensor& x, std::int64_t distinct) {
  std::vector<Tensor> copies(static_cast<std::size_t>(x.dim(0) / distinct), tape::slice(x, {0, 0, 0, 0}, {distinct, -1, -1, -1}));
  return tape::concat(copies, 0);
}

// kN training images (outside the reference) whose label is in [0, classes).
Tensor first_classes(const MnistSets& s, int classes) {
  std::vector<std::int64_t> idx;
  for (std::size_t i = kN; i < s.order.size() && static_cast<std::int64_t>(idx.size()) < kN; ++i)
    if (s.train.labels[static_cast<std::size_t>(s.order[i])] < classes) idx.push_back(s.order[i]);
  return tape::data::gather_images(s.train, idx);
}

const QualityReport& real() { return sets().score("real", sets().images(kN, 2 * kN)); }

}  // namespace

TEST_CASE("real against real: FID near 0, KID within two standard errors of 0, high score and recall", "[mnist]") {
  const QualityReport& r = real();
  INFO(tape::metrics::format_quality_table({{"real", r}}, "MNIST score"));
  CHECK(r.fid < 1.5);
  CHECK(std::abs(r.kid) <= 2.0 * r.kid_se);
  CHECK(r.score > 9.3);
  CHECK(r.precision > 0.8);
  CHECK(r.recall > 0.8);
  CHECK(r.classes_present == 10);
  CHECK(r.kl_to_test < 0.01);
}

TEST_CASE("one class: score near 1, recall near its share of the reference", "[mnist]") {
  const QualityReport& one = sets().score("only 1s", tape::data::filter_class(sets().train, 1).images);
  INFO(tape::metrics::format_quality_table({{"real", real()}, {"only 1s", one}}, "MNIST score"));
  CHECK(one.score < 1.2);
  CHECK(one.recall < 0.15);  // only the reference's own 1s (11%) lie in the balls of a set of 1s
  CHECK(one.classes_present == 1);
  CHECK(one.fid > 100.0);
}

TEST_CASE("damaged sets land in order: real, then blurred, noisy and repeated, then half the classes, then one class",
          "[mnist]") {
  MnistSets& s = sets();
  const Tensor base = s.images(kN, 2 * kN);
  const QualityReport& r = real();
  const QualityReport& blur = s.score("blurred 3x3", blurred(base));
  const QualityReport& noisy = s.score("noise 0.5", with_noise(base, 0.5));
  const QualityReport& rep = s.score("100 repeated", repeated(base, 100));
  const QualityReport& half = s.score("classes 0-4", first_classes(s, 5));
  const QualityReport& one = s.score("only 1s", tape::data::filter_class(s.train, 1).images);
  const std::string table = tape::metrics::format_quality_table(
      {{"real", r}, {"blurred 3x3", blur}, {"noise 0.5", noisy}, {"100 repeated", rep}, {"classes 0-4", half}, {"only 1s", one}},
      "MNIST score");
  std::cout << table;
  INFO(table);
  for (const QualityReport* damaged : {&blur, &noisy, &rep}) {
    CHECK(damaged->fid > 5.0 * std::max(r.fid, 1.0));
    CHECK(damaged->fid < half.fid);
    CHECK(damaged->score < r.score);
    CHECK(damaged->score > half.score);
  }
  CHECK(half.score > 4.0);
  CHECK(half.score < 5.5);
  CHECK(half.classes_present == 5);
  CHECK(half.fid < one.fid);
  CHECK(half.recall < 0.7);
  CHECK(one.score < half.score);
  // Repeating 100 images leaves recall near 0: the fake balls have radius 0.
  CHECK(rep.recall < 0.05);
  CHECK(rep.precision > 0.5);
}
