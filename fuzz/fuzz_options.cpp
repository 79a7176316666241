// Fuzz target: option text parsed by the library: a batch schedule ("5000:128,12000:256",
// tape::data::BatchSchedule::parse, behind dcgan's --batch-from), then the schedule built from
// it and its image count.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "tape/data/batch_schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  expect_typed_errors([&] {
    const tape::data::BatchSchedule schedule(64, tape::data::BatchSchedule::parse(text));
    const std::int64_t last = schedule.changes().empty() ? 0 : schedule.changes().back().step;
    schedule.images_in(last <= INT64_MAX - 1000 ? last + 1000 : last);  // as a resumed run counts its images
    schedule.largest();
  });
  return 0;
}
