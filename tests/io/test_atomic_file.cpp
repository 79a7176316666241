// Tests for tape::io's atomic file writes: the content arrives whole, an old file is replaced,
// an abandoned or failed write leaves the target as it was and no temporary file behind.
#include <tape/io/atomic_file.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/test_support.h"

namespace {

using test::TempDir;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("write_file_atomically writes and replaces a file, leaving nothing else", "[io]") {
  TempDir dir;
  const std::string path = dir.file("a.txt");
  tape::io::write_file_atomically(path, std::string("first\n"));
  REQUIRE(read_text(path) == "first\n");
  tape::io::write_file_atomically(path, std::vector<std::uint8_t>{'x', 0, 'y'});
  REQUIRE(read_text(path) == std::string("x\0y", 3));
  REQUIRE(dir.entries() == std::vector<std::string>{"a.txt"});
}

TEST_CASE("an AtomicFile not committed leaves the target untouched", "[io]") {
  TempDir dir;
  const std::string path = dir.file("b.txt");
  tape::io::write_file_atomically(path, std::string("old"));
  {
    tape::io::AtomicFile file(path, "test");
    file.write(std::string("new, never committed"));
  }
  REQUIRE(read_text(path) == "old");
  REQUIRE(dir.entries() == std::vector<std::string>{"b.txt"});
}

TEST_CASE("atomic write errors name the operation and the path", "[io]") {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir/c.txt");
  REQUIRE_THROWS_AS(tape::io::write_file_atomically(missing, std::string("x"), "save_thing"), tape::IOError);
  CHECK_THROWS_WITH(tape::io::write_file_atomically(missing, std::string("x"), "save_thing"),
                    Catch::StartsWith("save_thing: " + missing + ": ") && Catch::Contains("No such file or directory"));
  CHECK_THROWS_WITH(tape::io::write_file_atomically("", std::string("x")), Catch::Contains("the path is empty"));
  const std::string taken = dir.file("taken");
  std::filesystem::create_directories(taken + "/child");
  CHECK_THROWS_WITH(tape::io::write_file_atomically(taken, std::string("x")), Catch::Contains("cannot rename"));
  REQUIRE(dir.entries() == std::vector<std::string>{"taken"});
}

TEST_CASE("remove_stale_temporaries deletes what a killed writer left, and nothing else", "[io]") {
  TempDir dir;
  for (const char* name : {"ckpt-1.safetensors.tmp-Ab3xY9", "grid.png.tmp-000000", "ckpt-1.safetensors", "notes.tmp-ab",
                           "x.tmp-abcdef7", ".tmp-abcdef", "losses.csv"})
    std::ofstream(dir.file(name)) << "x";
  std::filesystem::create_directory(dir.file("sub.tmp-ABCDEF"));
  CHECK(tape::io::remove_stale_temporaries(dir.path().string()) == 2);
  CHECK(dir.entries() == std::vector<std::string>{".tmp-abcdef", "ckpt-1.safetensors", "losses.csv", "notes.tmp-ab",
                                                  "sub.tmp-ABCDEF", "x.tmp-abcdef7"});
  CHECK(tape::io::remove_stale_temporaries(dir.file("missing")) == 0);
}
