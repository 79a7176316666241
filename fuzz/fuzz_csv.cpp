// Fuzz target: a training log read back on --resume (tape::io::CsvLog::resume), with the
// columns of a run's losses.csv. The first input byte picks the step to resume at.
#include <cstdint>

#include "fuzz_support.h"
#include "tape/io/csv_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tape::fuzz;
  if (size < 1) return 0;
  const std::string path = write_scratch("losses.csv", data + 1, size - 1);
  tape::io::CsvLog log(path, {{"step", "%.0f"}, {"d_loss", "%.6f"}, {"g_loss", "%.6f"}});
  expect_typed_errors([&] { log.resume(data[0] == 255 ? 1e300 : data[0]); });
  return 0;
}
