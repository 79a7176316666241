// Sample-quality reports (see report.h): classifier outputs -> metric reports, the table,
// metrics.json and the metrics-over-time log of a training run.
#include "tape/metrics/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <tape/data/batches.h>
#include <tape/data/dataset.h>
#include <tape/io/atomic_file.h>
#include <tape/io/plot.h>

#include "tape/metrics/metrics.h"

namespace tape::metrics {

using tape::Tensor;

QualityReport evaluate_quality(const ClassifierOutputs& set, const ClassifierOutputs& reference,
                               const std::vector<double>& test_histogram) {
  QualityReport r;
  r.n = static_cast<std::int64_t>(set.classes.size());
  std::tie(r.score, r.score_std) = mnist_score(set.probabilities, 10);
  r.fid = frechet_distance(reference.features, set.features);
  std::tie(r.kid, r.kid_se) = kid(reference.features, set.features, 1000);
  std::tie(r.precision, r.recall) = precision_recall(reference.features, set.features, 3);
  r.histogram = class_histogram(set.classes, static_cast<int>(test_histogram.size()));
  r.classes_present = static_cast<int>(std::count_if(r.histogram.begin(), r.histogram.end(), [](double h) { return h >= 0.01; }));
  r.kl_to_test = kl_divergence(r.histogram, test_histogram);
  return r;
}

// ---------------------------------------------------------------- Evaluator
namespace {

Tensor first_images(const tape::data::Dataset& data, std::int64_t n) {
  return tape::slice(data.images, {0, 0, 0, 0}, {n, -1, -1, -1});
}

}  // namespace

Evaluator::Evaluator(const std::string& classifier_path, const std::string& dataset, const std::string& data_dir,
                     std::int64_t n, bool verify_checksums)
    : n_(n),
      score_label_(tape::data::dataset_title(dataset) + " score"),
      classifier_(load_mnist_classifier(classifier_path, dataset)) {
  if (n < 10 || n > 10000) throw tape::ValueError("eval: --n must be in [10, 10000], got " + std::to_string(n));
  const tape::data::Dataset train = tape::data::load_dataset(dataset, data_dir, true, verify_checksums);
  tape::Generator pick(0x5EED5EED);
  std::vector<std::int64_t> idx = tape::data::shuffled_indices(train.size(), pick);
  idx.resize(static_cast<std::size_t>(n));
  reference_ = classify(classifier_, tape::data::gather_images(train, idx));
  const tape::data::Dataset test = tape::data::load_dataset(dataset, data_dir, false, verify_checksums);
  test_histogram_ = class_histogram(std::vector<int>(test.labels.begin(), test.labels.end()), 10);
  test_images_ = first_images(test, n);
}

const QualityReport& Evaluator::real_report() {
  if (!real_) real_ = std::make_unique<QualityReport>(evaluate(test_images_));
  return *real_;
}

QualityReport Evaluator::evaluate(const Tensor& images) {
  return evaluate_quality(classify(classifier_, images), reference_, test_histogram_);
}

QualityReport Evaluator::evaluate(const Tensor& images, const std::vector<int>& labels) {
  const ClassifierOutputs outputs = classify(classifier_, images);
  QualityReport r = evaluate_quality(outputs, reference_, test_histogram_);
  add_label_accuracy(r, outputs.classes, labels);
  return r;
}

void add_label_accuracy(QualityReport& report, const std::vector<int>& predicted, const std::vector<int>& labels,
                        int classes) {
  if (classes < 1) throw tape::ValueError("add_label_accuracy: classes must be >= 1, got " + std::to_string(classes));
  if (labels.empty()) throw tape::ValueError("add_label_accuracy: no labels");
  if (predicted.size() != labels.size()) {
    throw tape::ValueError("add_label_accuracy: " + std::to_string(predicted.size()) + " predictions for " +
                           std::to_string(labels.size()) + " labels");
  }
  std::vector<double> right(static_cast<std::size_t>(classes), 0.0), count(right.size(), 0.0);
  double total_right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw tape::ValueError("add_label_accuracy: label " + std::to_string(labels[i]) + " at " + std::to_string(i) +
                       " is outside [0, " + std::to_string(classes) + ")");
    }
    const auto k = static_cast<std::size_t>(labels[i]);
    count[k] += 1;
    if (predicted[i] == labels[i]) right[k] += 1, total_right += 1;
  }
  report.class_accuracy.assign(right.size(), std::nan(""));
  for (std::size_t k = 0; k < right.size(); ++k) {
    if (count[k] > 0) report.class_accuracy[k] = right[k] / count[k];
  }
  report.label_accuracy = total_right / static_cast<double>(labels.size());
}


// ---------------------------------------------------------------- table and JSON
namespace {

std::string format(const char* fmt, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_quality_table(const std::vector<std::pair<std::string, QualityReport>>& rows,
                                 const std::string& score_label) {
  std::ostringstream os;
  const std::size_t score_width = std::max<std::size_t>(16, score_label.size() + 2);
  const std::vector<std::pair<std::string, std::size_t>> header{
      {"set", 14}, {"n", 7}, {score_label, score_width}, {"FID", 10}, {"KID x 1e3", 17}, {"precision", 10},
      {"recall", 8}, {"classes>=1%", 12}, {"KL to test", 10}};
  for (const auto& [title, width] : header) os << pad(title, width);
  os << "\n";
  for (const auto& [label, r] : rows) {
    os << pad(label, 14) << pad(std::to_string(r.n), 7) << pad(format("%.3f ± %.3f", r.score, r.score_std), score_width)
       << pad(format("%.3f", r.fid), 10) << pad(format("%.3f ± %.3f", r.kid * 1e3, r.kid_se * 1e3), 17)
       << pad(format("%.3f", r.precision), 10) << pad(format("%.3f", r.recall), 8)
       << pad(std::to_string(r.classes_present), 12) << format("%.4f", r.kl_to_test) << "\n";
  }
  os << "class histograms (% of each set predicted as 0..9):\n";
  for (const auto& [label, r] : rows) {
    os << "  " << pad(label, 12);
    for (double h : r.histogram) os << pad(format("%.1f", 100.0 * h), 6);
    os << "\n";
  }
  for (const auto& [label, r] : rows) {
    if (r.class_accuracy.empty()) continue;
    os << "label accuracy of " << label << " (% classified as the class asked for): " << format("%.1f", 100.0 * r.label_accuracy)
       << "\n  per class 0.." << r.class_accuracy.size() - 1 << ": ";
    for (double a : r.class_accuracy) os << pad(format("%.1f", 100.0 * a), 6);
    os << "\n";
  }
  return os.str();
}

void write_metrics_json(const std::string& path, const std::vector<std::pair<std::string, QualityReport>>& rows) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [label, r] : rows) {
    j[label] = {{"n", r.n}, {"mnist_score", r.score}, {"mnist_score_std", r.score_std}, {"fid", r.fid},
                {"kid", r.kid}, {"kid_se", r.kid_se}, {"precision", r.precision}, {"recall", r.recall},
                {"class_histogram", r.histogram}, {"classes_present", r.classes_present},
                {"kl_to_test", r.kl_to_test}};
    if (!r.class_accuracy.empty()) {
      nlohmann::json per_class = nlohmann::json::array();
      for (double a : r.class_accuracy) per_class.push_back(std::isnan(a) ? nlohmann::json() : nlohmann::json(a));
      j[label]["label_accuracy"] = r.label_accuracy;
      j[label]["class_accuracy"] = per_class;
    }
  }
  tape::io::write_file_atomically(path, j.dump(2) + "\n");
}

// ---------------------------------------------------------------- MetricsLog
namespace {

// metrics.csv's columns: step, wall time, every field of the report, the class histogram.
std::vector<tape::io::CsvLog::Column> metrics_columns() {
  std::vector<tape::io::CsvLog::Column> c{{"step", "%.0f"},      {"wall_time", "%.3f"},   {"mnist_score", "%.5f"},
                                         {"mnist_score_std", "%.5f"}, {"fid", "%.5f"},   {"kid", "%.7f"},
                                         {"kid_se", "%.7f"},    {"precision", "%.5f"},   {"recall", "%.5f"},
                                         {"classes_present", "%.0f"}, {"kl_to_test", "%.6f"}};
  for (int k = 0; k < 10; ++k) c.push_back({"h" + std::to_string(k), "%.5f"});
  return c;
}

std::vector<double> values_of(std::int64_t step, double wall_time, const QualityReport& r) {
  std::vector<double> v{static_cast<double>(step), wall_time, r.score, r.score_std, r.fid, r.kid, r.kid_se,
                        r.precision, r.recall, static_cast<double>(r.classes_present), r.kl_to_test};
  v.insert(v.end(), r.histogram.begin(), r.histogram.end());
  v.resize(21, 0.0);
  return v;
}

QualityReport report_from(const std::vector<double>& v) {
  QualityReport r;
  r.score = v[2], r.score_std = v[3], r.fid = v[4], r.kid = v[5], r.kid_se = v[6];
  r.precision = v[7], r.recall = v[8], r.classes_present = static_cast<int>(v[9]), r.kl_to_test = v[10];
  r.histogram.assign(v.begin() + 11, v.end());
  return r;
}

}  // namespace

MetricsLog::MetricsLog(std::string run_dir, QualityReport real, std::string score_label)
    : dir_(std::move(run_dir)),
      real_(std::move(real)),
      score_label_(std::move(score_label)),
      csv_(dir_ + "/metrics.csv", metrics_columns()) {}

void MetricsLog::start(bool resume, std::int64_t step) {
  if (!resume || !csv_.resume(static_cast<double>(step))) csv_.start();
  rows_.clear();
  for (const auto& v : csv_.rows()) rows_.push_back({static_cast<std::int64_t>(v[0]), v[1], report_from(v)});
}

void MetricsLog::append(std::int64_t step, double wall_time, const QualityReport& report) {
  csv_.append(values_of(step, wall_time, report));
  rows_.push_back({step, wall_time, report});
  write_plot();
}

void MetricsLog::write_plot() const {
  if (rows_.empty()) return;
  tape::io::Series score{score_label_, {}, {}}, real{"real test set score", {}, {}}, precision{"precision x 10", {}, {}},
      recall{"recall x 10", {}, {}};
  for (const auto& row : rows_) {
    const double x = static_cast<double>(row.step);
    score.x.push_back(x), score.y.push_back(row.report.score);
    precision.x.push_back(x), precision.y.push_back(10.0 * row.report.precision);
    recall.x.push_back(x), recall.y.push_back(10.0 * row.report.recall);
  }
  real.x = {score.x.front(), score.x.back()};
  real.y = {real_.score, real_.score};
  tape::io::plot_lines(plot_path(), {score, real, precision, recall},
             {.width = 800, .height = 450, .title = "Sample quality during training", .x_label = "step", .y_label = ""});
  tape::io::Series fid{"generated vs training images", score.x, {}}, real_fid{"real test set", real.x, {real_.fid, real_.fid}};
  for (const auto& row : rows_) fid.y.push_back(row.report.fid);
  tape::io::plot_lines(fid_plot_path(), {fid, real_fid},
             {.width = 800, .height = 450, .title = "Frechet distance (classifier features)", .x_label = "step",
              .y_label = "FID"});
}

}  // namespace tape::metrics
