// CheckpointManager: numbered names, the newest found by step (not by name or time), pruning to
// max_to_keep after each save, other files left alone, and a saved checkpoint that loads back.
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "support/temp_dir.h"
#include "tape/nn/nn.h"

namespace fs = std::filesystem;
namespace nn = tape::nn;
using test::TempDir;

TEST_CASE("CheckpointManager names, lists, keeps the newest and prunes the rest", "[checkpoint][manager]") {
  TempDir dir;
  const std::string folder = dir.file("run/checkpoints");
  nn::CheckpointManager manager(folder, 2);
  CHECK(manager.path(1500) == folder + "/ckpt-00001500.safetensors");
  CHECK_FALSE(manager.latest());
  nn::Dense layer(3);
  layer.build({2}, 1);
  for (const std::int64_t step : {5, 100, 20}) manager.save(step, {{"model", &layer, nullptr}});
  // Steps, not names or times: 100 is the newest although 20 was saved last; 5 was pruned.
  const auto kept = manager.checkpoints();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].first == 20);
  CHECK(kept[1].first == 100);
  CHECK(manager.latest() == manager.path(100));
  std::ofstream(folder + "/notes.txt") << "mine";
  std::ofstream(folder + "/ckpt-12x.safetensors") << "not a step";
  manager.save(200, {{"model", &layer, nullptr}});
  CHECK(manager.checkpoints().size() == 2);
  CHECK(fs::exists(folder + "/notes.txt"));
  CHECK(fs::exists(folder + "/ckpt-12x.safetensors"));
  nn::Dense other(3);
  other.build({2}, 2);
  nn::load_checkpoint(*manager.latest(), {{"model", &other, nullptr}});
  CHECK(other.variables()[0].value().to_vector<float>() == layer.variables()[0].value().to_vector<float>());
  CHECK_THROWS_AS(nn::CheckpointManager(folder, 0), tape::ValueError);
}
