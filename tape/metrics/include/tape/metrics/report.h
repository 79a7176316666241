// Sample-quality reports of image sets scored with a dataset's classifier (MNIST or
// Fashion-MNIST): the metrics of one set against reference training images (QualityReport), the
// Evaluator that loads the classifier and the reference once, the real test set's row, a printed
// table, metrics.json, and the metrics-over-time log of a training run (metrics.csv, metrics.png,
// fid.png). Files keep MNIST's names for the score ("mnist_score") whatever the dataset; printed
// labels name the dataset ("Fashion-MNIST score").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tape/io/csv_log.h>
#include <tape/nn/nn.h>

#include "tape/metrics/classifier.h"

namespace tape::metrics {

// The metrics of one image set against the reference set (formulas in metrics.h).
struct QualityReport {
  std::int64_t n = 0;
  double score = 0, score_std = 0;  // the dataset's score (MNIST score), mean and std over 10 splits
  double fid = 0;                   // Fréchet distance on the penultimate features
  double kid = 0, kid_se = 0;       // KID and its standard error (blocks of 1,000)
  double precision = 0, recall = 0; // improved precision/recall, k = 3
  std::vector<double> histogram;    // fraction of the set predicted as each class
  int classes_present = 0;          // classes with at least 1% of the set
  double kl_to_test = 0;            // KL(histogram || the test set's label histogram)
  // Images made for given classes (a class-conditional generator; empty otherwise): the fraction
  // the classifier puts in the class each was made for, over all and per class (0..9).
  std::vector<double> class_accuracy;
  double label_accuracy = 0;
};

// The label accuracy of `predicted` classes against the `labels` the images were made for (equal
// sizes, labels in [0, classes)): into report.label_accuracy and report.class_accuracy (NaN for a
// class with no image). ValueError for mismatched sizes or a label out of range.
void add_label_accuracy(QualityReport& report, const std::vector<int>& predicted, const std::vector<int>& labels,
                        int classes = 10);

QualityReport evaluate_quality(const ClassifierOutputs& set,
                               const ClassifierOutputs& reference,
                               const std::vector<double>& test_histogram);

// The classifier, n reference images from the training set (a seeded random choice) and the test
// set's label histogram, loaded once; then any number of image sets are scored against them.
class Evaluator {
 public:
  // dataset: mnist | fashion-mnist, whose classifier `classifier_path` must hold
  // (load_mnist_classifier throws tape::ValueError otherwise); data_dir holds its
  // four IDX files (tape::data::default_data_dir when empty); n in [10, 10000].
  Evaluator(const std::string& classifier_path, const std::string& dataset, const std::string& data_dir,
            std::int64_t n, bool verify_checksums = true);

  std::int64_t n() const { return n_; }
  // What the score is called in print: "MNIST score", "Fashion-MNIST score".
  const std::string& score_label() const { return score_label_; }
  // The first n test images against the reference: the row every generated set is compared with.
  const QualityReport& real_report();
  // images [M, 28, 28, 1] in [-1, 1], M >= 10.
  QualityReport evaluate(const tape::Tensor& images);
  // The same for images made for the classes `labels` [M] (a class-conditional generator's), with
  // the label accuracy added.
  QualityReport evaluate(const tape::Tensor& images, const std::vector<int>& labels);
  tape::nn::Sequential& classifier() { return classifier_; }

 private:
  std::int64_t n_;
  std::string score_label_;
  tape::nn::Sequential classifier_;
  ClassifierOutputs reference_;
  std::vector<double> test_histogram_;
  tape::Tensor test_images_;  // the first n test images, scored once by real_report()
  std::unique_ptr<QualityReport> real_;
};

// A fixed-width table, one row per (label, report), the classes line under it; the score's
// column is headed score_label (Evaluator::score_label).
std::string format_quality_table(const std::vector<std::pair<std::string, QualityReport>>& rows,
                                 const std::string& score_label);
// metrics.json: {"<label>": {...every field...}, ...}, written atomically.
void write_metrics_json(const std::string& path, const std::vector<std::pair<std::string, QualityReport>>& rows);

// metrics.csv, metrics.png and fid.png of a training run: one row per evaluation.
class MetricsLog {
 public:
  // score_label names the score in metrics.png (Evaluator::score_label); metrics.csv keeps mnist_score.
  MetricsLog(std::string run_dir, QualityReport real, std::string score_label);
  // Keeps the rows of an existing metrics.csv up to `step` (resuming); starts a new file otherwise.
  void start(bool resume, std::int64_t step);
  void append(std::int64_t step, double wall_time, const QualityReport& report);
  // metrics.png: the score, precision x 10 and recall x 10 against steps, with the real test
  // set's score; fid.png: the Fréchet distance against steps, with the real test set's.
  void write_plot() const;
  std::string csv_path() const { return dir_ + "/metrics.csv"; }
  std::string plot_path() const { return dir_ + "/metrics.png"; }
  std::string fid_plot_path() const { return dir_ + "/fid.png"; }

 private:
  struct Row {
    std::int64_t step;
    double wall_time;
    QualityReport report;
  };
  std::string dir_;
  QualityReport real_;
  std::string score_label_;
  tape::io::CsvLog csv_;
  std::vector<Row> rows_;
};

}  // namespace tape::metrics
