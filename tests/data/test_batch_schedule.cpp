// BatchSchedule: parsing STEP:BATCH lists, the batch of each step, the images drawn, and the
// schedules it refuses.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <tape/data/batch_schedule.h>
#include <tape/error.h>

using tape::data::BatchChange;
using tape::data::BatchSchedule;

TEST_CASE("BatchSchedule parses STEP:BATCH lists and names the part it cannot read", "[data][schedule]") {
  CHECK(BatchSchedule::parse("5000:128,8000:256") == std::vector<BatchChange>{{5000, 128}, {8000, 256}});
  CHECK(BatchSchedule::parse("").empty());
  CHECK(BatchSchedule::parse("none").empty());
  for (const char* bad : {"5000", "5000:", ":128", "5000:128:3", "5000-128", "0:128", "5000:0", "x:1", " 1:2x"}) {
    INFO(bad);
    CHECK_THROWS_AS(BatchSchedule::parse(bad), tape::ValueError);
    CHECK_THROWS_WITH(BatchSchedule::parse(bad), Catch::Contains(bad));
  }
}

TEST_CASE("BatchSchedule gives each step's batch and the images drawn", "[data][schedule]") {
  const BatchSchedule s(64, {{5000, 128}, {8000, 256}});
  CHECK(s.batch_at(0) == 64);
  CHECK(s.batch_at(4999) == 64);
  CHECK(s.batch_at(5000) == 128);
  CHECK(s.batch_at(8000) == 256);
  CHECK(s.images_in(0) == 0);
  CHECK(s.images_in(5000) == 5000 * 64);
  CHECK(s.images_in(5001) == 5000 * 64 + 128);
  CHECK(s.images_in(9000) == 5000 * 64 + 3000 * 128 + 1000 * 256);
  CHECK(s.largest() == 256);
  CHECK(BatchSchedule(32).images_in(10) == 320);
  CHECK(BatchSchedule(300, {{2, 16}}).largest() == 300);
}

TEST_CASE("BatchSchedule refuses steps out of order and batches below 1", "[data][schedule]") {
  CHECK_THROWS_AS(BatchSchedule(0), tape::ValueError);
  CHECK_THROWS_WITH(BatchSchedule(64, {{3, 16}, {2, 8}}), Catch::Contains("2:8") && Catch::Contains("increasing"));
  CHECK_THROWS_AS(BatchSchedule(64, {{0, 16}}), tape::ValueError);
  CHECK_THROWS_AS(BatchSchedule(64, {{5, 0}}), tape::ValueError);
}

TEST_CASE("BatchSchedule refuses an image count past 2^63 - 1 instead of overflowing (a fuzz finding)",
          "[data][schedule]") {
  const BatchSchedule schedule(64, BatchSchedule::parse("777777777777777773:3"));
  CHECK_THROWS_WITH(schedule.images_in(777777777777777773 + 1000),
                    Catch::Contains("do not fit in a 64-bit count") && Catch::Contains("777777777777778773"));
  CHECK(BatchSchedule(64).images_in(1000) == 64000);
  CHECK_THROWS_AS(BatchSchedule(64).images_in(-1), tape::ValueError);
}
