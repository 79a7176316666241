// Fuzz target: CIFAR-10's binary batches (tape::data::load_cifar10 on a folder whose
// test_batch.bin is the input).
#include <cstdint>

#include "fuzz_support.h"
#include "tape/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  write_scratch("test_batch.bin", data, size);
  expect_typed_errors([&] { tape::data::load_cifar10(scratch_dir().string(), false); });
  return 0;
}
