// CheckpointManager (see checkpoint_manager.h): numbered names, listing by step, pruning.
#include "tape/nn/checkpoint_manager.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "tape/error.h"

namespace tape::nn {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSuffix = ".safetensors";

// The step of a file named <prefix><digits>.safetensors, if it is one.
std::optional<std::int64_t> step_of(const std::string& name, const std::string& prefix) {
  const std::string suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(digits);
}

}  // namespace

CheckpointManager::CheckpointManager(std::string directory, int max_to_keep, std::string prefix)
    : directory_(std::move(directory)), prefix_(std::move(prefix)), max_to_keep_(max_to_keep) {
  if (max_to_keep_ < 1)
    throw ValueError("CheckpointManager: max_to_keep must be >= 1, got " + std::to_string(max_to_keep_) + " (" +
                     directory_ + ")");
}

std::string CheckpointManager::path(std::int64_t step) const {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%08lld", static_cast<long long>(step));
  return (fs::path(directory_) / (prefix_ + digits + kSuffix)).string();
}

std::vector<std::pair<std::int64_t, std::string>> CheckpointManager::checkpoints() const {
  std::vector<std::pair<std::int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(directory_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(directory_, ec))
    if (const auto step = step_of(entry.path().filename().string(), prefix_)) out.emplace_back(*step, entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> CheckpointManager::latest() const {
  const auto all = checkpoints();
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

std::string CheckpointManager::save(std::int64_t step, const std::vector<CheckpointEntry>& entries,
                                    const CheckpointExtras& extras) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) throw IOError("CheckpointManager: cannot create folder " + directory_ + ": " + ec.message());
  const std::string file = path(step);
  save_checkpoint(file, entries, extras);
  prune();
  return file;
}

void CheckpointManager::prune() const {
  const auto all = checkpoints();
  for (std::size_t i = 0; i + static_cast<std::size_t>(max_to_keep_) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
  }
}

}  // namespace tape::nn
