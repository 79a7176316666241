// Test helpers that write dataset files: a temporary directory, raw and gzipped writers, IDX
// and CIFAR-10 record builders. Shared by the tape::data tests and the DCGAN example's tests.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tape/data/dataset.h>

#include "support/temp_dir.h"
#include "support/test_support.h"

namespace test_files {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

using test::TempDir;

// Debian's dataset-fashion-mnist is installed (tests that need it are skipped otherwise).
inline bool fashion_mnist_installed() {
  return fs::exists(std::string(tape::data::kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

inline Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file: magic, big-endian dims, then `data`.
inline Bytes idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out;
  put_be32(out, magic);
  for (auto d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// CIFAR-10 records: label r % 10, channel c of pixel p = (r + c * 50 + p) mod 256.
inline Bytes cifar_records(std::size_t n) {
  Bytes out;
  for (std::size_t r = 0; r < n; ++r) {
    out.push_back(static_cast<std::uint8_t>(r % 10));
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 1024; ++p) out.push_back(static_cast<std::uint8_t>(r + c * 50 + p));
  }
  return out;
}

}  // namespace test_files
