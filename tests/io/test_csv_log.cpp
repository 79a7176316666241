// CsvLog: the header and formatted rows on disk, appends, resume keeping rows up to a step, and
// IOError naming the file and line for a file it did not write.
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <tape/error.h>
#include <tape/io/csv_log.h>

#include "support/temp_dir.h"

namespace {

using test::TempDir;

std::string text_of(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

tape::io::CsvLog log_at(const std::string& path) { return tape::io::CsvLog(path, {{"step", "%.0f"}, {"loss", "%.3f"}}); }

}  // namespace

TEST_CASE("CsvLog writes its header, then each row formatted as its column says", "[csv]") {
  TempDir dir;
  tape::io::CsvLog log = log_at(dir.file("losses.csv"));
  log.start();
  CHECK(text_of(dir.file("losses.csv")) == "step,loss\n");
  log.append({1, 0.5});
  log.append({2, 0.25});
  CHECK(text_of(dir.file("losses.csv")) == "step,loss\n1,0.500\n2,0.250\n");
  CHECK(log.rows().size() == 2);
  CHECK_THROWS_AS(log.append({3}), tape::ValueError);
  CHECK(text_of(dir.file("losses.csv")) == "step,loss\n1,0.500\n2,0.250\n");
}

TEST_CASE("CsvLog::resume keeps the rows up to a step and goes on from there", "[csv]") {
  TempDir dir;
  const std::string path = dir.file("losses.csv");
  {
    tape::io::CsvLog log = log_at(path);
    log.start();
    for (int step = 1; step <= 5; ++step) log.append({double(step), step / 10.0});
  }
  tape::io::CsvLog log = log_at(path);
  REQUIRE(log.resume(3));
  CHECK(log.rows() == std::vector<std::vector<double>>{{1, 0.1}, {2, 0.2}, {3, 0.3}});
  CHECK(text_of(path) == "step,loss\n1,0.100\n2,0.200\n3,0.300\n");
  log.append({4, 0.45});
  CHECK(text_of(path) == "step,loss\n1,0.100\n2,0.200\n3,0.300\n4,0.450\n");
  tape::io::CsvLog missing = log_at(dir.file("none.csv"));
  CHECK_FALSE(missing.resume(3));
  CHECK(dir.entries() == std::vector<std::string>{"losses.csv"});
}

TEST_CASE("CsvLog::resume drops a last row cut short by a crash", "[csv]") {
  TempDir dir;
  const std::string path = dir.file("losses.csv");
  std::ofstream(path) << "step,loss\n1,0.100\n2,0.2";
  tape::io::CsvLog log = log_at(path);
  REQUIRE(log.resume(10));
  CHECK(log.rows() == std::vector<std::vector<double>>{{1, 0.1}});
  CHECK(text_of(path) == "step,loss\n1,0.100\n");
  std::ofstream(path) << "step,lo";  // even the header cut short
  CHECK_THROWS_WITH(log.resume(10), Catch::Contains("the header is ''"));
}

TEST_CASE("CsvLog::resume refuses a file it did not write, naming the file and the line", "[csv]") {
  TempDir dir;
  const std::string path = dir.file("losses.csv");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"epoch,loss\n1,2\n", "the header is 'epoch,loss'"},
      {"step,loss\n1,2\n3\n", "line 3 ('3'): 1 values, the header has 2"},
      {"step,loss\n1,x\n", "line 2 ('1,x'): 'x' is not a number"},
      {"step,loss\n1,2,\n", "an empty last cell"},
      {"step,loss\n1,1e999\n", "'1e999' is not a number"}};
  for (const auto& [text, message] : cases) {
    INFO(text);
    std::ofstream(path) << text;
    tape::io::CsvLog log = log_at(path);
    CHECK_THROWS_AS(log.resume(10), tape::IOError);
    CHECK_THROWS_WITH(log.resume(10), Catch::Contains(path) && Catch::Contains(message));
    CHECK(text_of(path) == text);  // a refused file is left as it was
  }
}
