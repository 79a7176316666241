// Disk full: under a file-size limit (writes past it fail with EFBIG, as on a full disk) every
// tape::io writer throws IOError naming the file, leaves the previous file as it was and no
// temporary behind; an appended log refuses the row that does not fit.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <tape/error.h>
#include <tape/io/csv_log.h>
#include <tape/io/image.h>
#include <tape/io/image_files.h>
#include <tape/io/plot.h>

#include "support/file_size_limit.h"
#include "support/temp_dir.h"

namespace {

using test::FileSizeLimit;
using test::TempDir;

std::string text_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// 64 noisy gray images of 28x28: far more than 2 KiB in every format.
tape::Tensor big_images() {
  tape::Generator gen(4);
  return tape::Tensor::uniform({64, 28, 28, 1}, gen, -1.0, 1.0);
}

// Runs write(path) once without a limit (the previous file) and once under a 2 KiB limit: the
// second throws IOError naming the file and the cause, and the previous file stays.
template <class Write>
void require_refused_and_kept(const TempDir& dir, const std::string& name, Write write) {
  const std::string path = dir.file(name);
  write(path);
  const std::string before = text_of(path);
  REQUIRE(before.size() > 2048);
  {
    FileSizeLimit limit(2048);
    CHECK_THROWS_AS(write(path), tape::IOError);
    CHECK_THROWS_WITH(write(path), Catch::Contains(path) && Catch::Contains("File too large"));
  }
  CHECK(text_of(path) == before);
}

}  // namespace

TEST_CASE("a full disk refuses PNG, GIF, plot and image-set writes, naming the file and keeping the old one",
          "[io][disk-full]") {
  TempDir dir;
  const tape::Tensor images = big_images();
  const tape::io::Image grid = tape::io::make_grid(images, 8);
  require_refused_and_kept(dir, "grid.png", [&](const std::string& p) { tape::io::write_png(p, grid); });
  require_refused_and_kept(dir, "anim.gif", [&](const std::string& p) { tape::io::write_gif(p, {grid, grid}); });
  require_refused_and_kept(dir, "losses.png", [&](const std::string& p) {
    tape::io::plot_lines(p, {{"loss", {0, 1, 2, 3}, {1, 3, 2, 4}}}, {});
  });
  require_refused_and_kept(dir, "set.idx", [&](const std::string& p) { tape::io::write_idx_images(p, images); });
  require_refused_and_kept(dir, "set.npy", [&](const std::string& p) { tape::io::write_npy_images(p, images); });
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  CHECK(names.size() == 5);  // no temporary file left behind
}

TEST_CASE("a full disk refuses a CsvLog row and a rewrite, naming the file", "[io][disk-full]") {
  TempDir dir;
  const std::string path = dir.file("losses.csv");
  tape::io::CsvLog log(path, {{"step", "%.0f"}, {"loss", "%.6f"}});
  log.start();
  for (int step = 1; step <= 200; ++step) log.append({double(step), 0.5});
  const std::string before = text_of(path);
  {
    FileSizeLimit limit(before.size());  // the file is full: the next row does not fit
    CHECK_THROWS_WITH(log.append({201, 0.5}), Catch::Contains(path) && Catch::Contains("cannot append"));
  }
  CHECK(text_of(path) == before);
  {
    FileSizeLimit limit(before.size() / 2);  // the rewrite on resume does not fit
    CHECK_THROWS_WITH(log.resume(1000), Catch::Contains(path) && Catch::Contains("File too large"));
  }
  CHECK(text_of(path) == before);
}

TEST_CASE("a device with no space left (/dev/full) refuses a CsvLog row with ENOSPC, naming the file",
          "[io][disk-full]") {
  if (!std::filesystem::exists("/dev/full")) {
    WARN("no /dev/full on this system: not tested");
    return;
  }
  TempDir dir;
  const std::string path = dir.file("losses.csv");
  tape::io::CsvLog log(path, {{"step", "%.0f"}, {"loss", "%.6f"}});
  log.start();
  log.append({1, 0.5});
  // The log's file now leads to a device whose every write fails with ENOSPC.
  std::filesystem::remove(path);
  std::filesystem::create_symlink("/dev/full", path);
  CHECK_THROWS_WITH(log.append({2, 0.5}),
                    Catch::Contains(path) && Catch::Contains("cannot append") && Catch::Contains("No space left on device"));
}
