// Shared by the fuzz targets: the bytes libFuzzer made, written to a scratch file (the readers
// take paths, as users give them), and the rule every target checks — a reader of outside data
// either returns or throws a typed tape::Error; anything else (another exception, a crash, a
// sanitizer report, a leak) is a finding. tape::InternalError is a finding too: it marks a bug.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tape/error.h"

namespace tape::fuzz {

// A folder of this process's own under $TMPDIR (or /tmp), made on first use, so that parallel
// fuzzing jobs never share a file.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                              ("tape-fuzz-" + std::to_string(static_cast<long>(::getpid())));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes `size` bytes to `name` inside the scratch folder (replacing it) and returns its path.
inline std::string write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz: cannot write the scratch file " + path.string());
  return path.string();
}

// Runs `read`; a typed tape error other than InternalError is an expected outcome for bad
// input, and is swallowed (printed when TAPE_FUZZ_VERBOSE is set, to see how far a seed gets).
// Everything else propagates and so aborts the run as a finding.
template <class Read>
void expect_typed_errors(Read&& read) {
  try {
    read();
  } catch (const tape::InternalError&) {
    throw;
  } catch (const tape::Error& e) {
    if (std::getenv("TAPE_FUZZ_VERBOSE")) std::fprintf(stderr, "typed error: %s\n", e.what());
  }
}

}  // namespace tape::fuzz
