// Fuzz target: a run folder's config.json read back by `dcgan train --resume`
// (dcgan::batch_of_run_config: nlohmann's parser and the TrainConfig fields from it).
#include <cstdint>

#include "fuzz_support.h"
#include "trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  const std::string path = write_scratch("config.json", data, size);
  expect_typed_errors([&] { dcgan::batch_of_run_config(path, 64); });
  return 0;
}
