// ProgressBar: the plain lines every N steps with the caller's fields, the step within the epoch,
// the time left from the samples still to draw, and format_duration.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <tape/summary/progress.h>

#include "support/temp_dir.h"

namespace {

// What `f` prints on stdout (file descriptor 1 sent to a file meanwhile).
template <class F>
std::string stdout_of(F&& f) {
  test::TempDir dir;
  const std::string path = dir.file("out.txt");
  std::fflush(stdout);
  const int saved = ::dup(1);
  std::FILE* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), 1);
  f();
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  std::fclose(file);
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("format_duration writes minutes and seconds, and hours when there are any", "[summary][progress]") {
  CHECK(tape::summary::format_duration(0) == "00:00");
  CHECK(tape::summary::format_duration(-5) == "00:00");
  CHECK(tape::summary::format_duration(125.4) == "02:05");
  CHECK(tape::summary::format_duration(3723) == "1:02:03");
}

TEST_CASE("ProgressBar prints a plain line every log_every steps and at the end, with the caller's fields",
          "[summary][progress]") {
  const std::string out = stdout_of([] {
    tape::summary::ProgressBar bar(4, 100, false, 2);
    for (std::int64_t step = 1; step <= 4; ++step)
      bar.update({.step = step, .epoch = 1, .sample_in_epoch = 10 * step, .batch = 10, .samples_done = 10 * step,
                  .samples_total = 40},
                 "live", "loss " + std::to_string(step), 1000.0);
    bar.epoch_done(1, 1.25);
    bar.finish();
  });
  CHECK(out.find("epoch 1 step 2/4  loss 2  1000 img/s  ETA ") == 0);
  CHECK(out.find("step 1/4") == std::string::npos);
  CHECK(out.find("step 3/4") == std::string::npos);
  CHECK(out.find("\nepoch 1 step 4/4  loss 4  1000 img/s  ETA 00:00\n") != std::string::npos);
  CHECK(out.find("Time for epoch 1 is 1.2 sec\n") != std::string::npos);
  CHECK(out.find("live") == std::string::npos);
}

TEST_CASE("ProgressBar's live line shows the bar, the step within the epoch and the live fields", "[summary][progress]") {
  const std::string out = stdout_of([] {
    tape::summary::ProgressBar bar(8, 40, true, 50);
    bar.update({.step = 2, .epoch = 1, .sample_in_epoch = 20, .batch = 10, .samples_done = 20, .samples_total = 80}, "d 1/2",
               "plain", 500.0);
    bar.finish();
  });
  CHECK(out.find("\r epoch 1 [######..................] 2/4  step 2/8  d 1/2  500 img/s  ETA ") == 0);
  CHECK(out.back() == '\n');
}
