// Where the examples keep the sample-quality classifier of each dataset: mnist_classifier saves
// it there, and dcgan eval and dcgan train --eval-every look for it there. Shared by both programs.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include <tape/error.h>

namespace examples {

// The datasets a classifier is trained on and scores samples of: "mnist", "fashion-mnist".
inline const std::vector<std::string>& classifier_datasets() {
  static const std::vector<std::string> names{"mnist", "fashion-mnist"};
  return names;
}

inline bool has_classifier(const std::string& dataset) {
  const auto& names = classifier_datasets();
  return std::find(names.begin(), names.end(), dataset) != names.end();
}

// `given` when not empty; otherwise runs/mnist_classifier/classifier.safetensors or
// runs/fashion_classifier/classifier.safetensors. Throws tape::ValueError naming --dataset and the
// value for a dataset without a classifier.
inline std::string classifier_path(const std::string& dataset, const std::string& given = "") {
  if (!given.empty()) return given;
  if (dataset == "mnist") return "runs/mnist_classifier/classifier.safetensors";
  if (dataset == "fashion-mnist") return "runs/fashion_classifier/classifier.safetensors";
  throw tape::ValueError("--dataset: no classifier for '" + dataset + "' (mnist, fashion-mnist)");
}

}  // namespace examples
