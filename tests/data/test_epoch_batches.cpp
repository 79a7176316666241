// Tests of tape::data::EpochBatches: each epoch's order comes from (seed, epoch) alone, so that
// seek() resumes at the same image, and an epoch ends where the next batch no longer fits.
#include <tape/data/batches.h>

#include <cstdint>
#include <set>
#include <vector>

#include "support/test_support.h"

namespace {

// n images of 1x1x1 whose single pixel is the image's index, labels i % 10.
tape::data::Dataset indexed_dataset(std::int64_t n) {
  std::vector<float> pixels;
  tape::data::Dataset data;
  for (std::int64_t i = 0; i < n; ++i) {
    pixels.push_back(static_cast<float>(i));
    data.labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  data.images = tape::Tensor::from_vector(pixels, tape::Shape{n, 1, 1, 1});
  data.name = "indexed";
  return data;
}

std::vector<std::int64_t> indices_of(const tape::Tensor& batch) {
  std::vector<std::int64_t> out;
  for (float v : batch.to_vector<float>()) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

}  // namespace

TEST_CASE("EpochBatches: seeded epochs, resumable with seek", "[data]") {
  const tape::data::Dataset data = indexed_dataset(10);
  tape::data::EpochBatches a(data, 3), b(data, 3), other(data, 4);
  a.seek(0, 0);
  b.seek(0, 0);
  other.seek(0, 0);
  std::vector<std::vector<std::int64_t>> first;
  for (int i = 0; i < 3; ++i) first.push_back(indices_of(a.next(3, 3)));
  // three batches of 3 fill the epoch of 10 as far as they fit; the next call starts epoch 1
  CHECK(a.epoch() == 1);
  CHECK(a.image_in_epoch() == 0);
  std::set<std::int64_t> seen;
  for (const auto& batch : first) seen.insert(batch.begin(), batch.end());
  CHECK(seen.size() == 9);
  for (int i = 0; i < 3; ++i) CHECK(indices_of(b.next(3, 3)) == first[static_cast<std::size_t>(i)]);
  CHECK(indices_of(other.next(3, 3)) != first[0]);

  // A fresh iterator sought to epoch 0, image 3 continues with the second batch.
  tape::data::EpochBatches resumed(data, 3);
  resumed.seek(0, 3);
  CHECK(indices_of(resumed.next(3, 3)) == first[1]);

  CHECK_THROWS_AS(resumed.seek(0, 10), tape::ValueError);
  CHECK_THROWS_AS(resumed.seek(0, -1), tape::ValueError);
}

TEST_CASE("EpochBatches shards: together the global batch, each image of an epoch on one shard", "[data][shard]") {
  const tape::data::Dataset data = indexed_dataset(103);
  for (const std::int64_t count : {1, 2, 3, 4}) {
    tape::data::EpochBatches whole(data, 5);
    whole.seek(0, 0);
    std::vector<tape::data::EpochBatches> shards;
    for (std::int64_t i = 0; i < count; ++i) {
      shards.emplace_back(data, 5, tape::BatchShard{i, count});
      shards.back().seek(0, 0);
    }
    std::set<std::int64_t> epoch_images;
    for (int step = 0; step < 12; ++step) {  // batches of 12 then 24: an epoch ends inside
      const std::int64_t batch = step < 5 ? 12 : 24, next = step + 1 < 5 ? 12 : 24;
      const std::int64_t epoch = whole.epoch();
      const std::vector<std::int64_t> expected = indices_of(whole.next(batch, next));
      std::vector<std::int64_t> joined;
      for (auto& s : shards) {
        REQUIRE(s.epoch() == epoch);
        const std::vector<std::int64_t> part = indices_of(s.next(batch, next));
        REQUIRE(static_cast<std::int64_t>(part.size()) == batch / count);
        joined.insert(joined.end(), part.begin(), part.end());
        REQUIRE(s.image_in_epoch() == whole.image_in_epoch());
      }
      REQUIRE(joined == expected);
      if (epoch == 0) {
        for (const std::int64_t i : joined) REQUIRE(epoch_images.insert(i).second);  // never twice in an epoch
      }
    }
    REQUIRE(epoch_images.size() == 12 * 5 + 24 * 1);  // the first epoch's batches: 84 of 103 images
  }
  tape::data::EpochBatches three(data, 5, tape::BatchShard{0, 3});
  three.seek(0, 0);
  REQUIRE_THROWS_WITH(three.next(16, 16), Catch::Contains("16") && Catch::Contains("3 equal shards"));
  REQUIRE_THROWS_AS(tape::data::EpochBatches(data, 5, tape::BatchShard{3, 3}), tape::ValueError);
}

TEST_CASE("EpochBatches keeping the last partial batch: every image once per epoch, the last batch smaller", "[data]") {
  const tape::data::Dataset data = indexed_dataset(103);
  tape::data::EpochBatches batches(data, 9);
  batches.keep_last_partial_batch(true);
  batches.seek(0, 0);
  std::set<std::int64_t> seen;
  std::vector<std::int64_t> sizes;
  while (batches.epoch() == 0) {
    const std::vector<std::int64_t> batch = indices_of(batches.next(12, 12));
    sizes.push_back(static_cast<std::int64_t>(batch.size()));
    for (const std::int64_t i : batch) REQUIRE(seen.insert(i).second);
  }
  REQUIRE(seen.size() == 103);
  REQUIRE(sizes == std::vector<std::int64_t>{12, 12, 12, 12, 12, 12, 12, 12, 7});
  REQUIRE(batches.image_in_epoch() == 0);
  // A resumed iterator continues at the same image, partial batch included.
  tape::data::EpochBatches resumed(data, 9);
  resumed.keep_last_partial_batch(true);
  resumed.seek(0, 96);
  tape::data::EpochBatches again(data, 9);
  again.keep_last_partial_batch(true);
  again.seek(0, 0);
  for (int i = 0; i < 8; ++i) (void)again.next(12, 12);
  REQUIRE(indices_of(resumed.next(12, 12)) == indices_of(again.next(12, 12)));
  REQUIRE(resumed.epoch() == 1);
}
