// Atomic, durable file writes: the bytes go to a fresh "<path>.tmp-XXXXXX" beside the target,
// which is fsync'ed, renamed over the target and whose directory is fsync'ed. Readers see the old
// file or the new one, never a part; after a crash the new file is complete or absent. The one
// implementation every file tape writes whole goes through (checkpoints, pictures, JSON, CSV).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tape::io {

// A file being written: write() any number of times, then commit(). Destroyed without commit()
// (an exception on the way), it removes its temporary file and leaves the target untouched.
// Errors throw tape::IOError "<op>: <path>: <what>" (op names the caller's operation).
class AtomicFile {
 public:
  // Creates the temporary file (O_EXCL, mode 0666 & ~umask) beside `path`.
  explicit AtomicFile(std::string path, std::string op = "write_file_atomically");
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // fsync, close, rename over the target, fsync the directory. Call once.
  void commit();

  const std::string& path() const { return path_; }

 private:
  void check(int err, const char* what) const;
  std::string path_, op_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `bytes` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, std::string_view bytes,
                           const std::string& op = "write_file_atomically");
void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes,
                           const std::string& op = "write_file_atomically");

// Deletes the temporary files a killed writer left in `dir` (names ending in ".tmp-" and six
// letters or digits; AtomicFile removes its own unless the process dies). For a program that owns
// the folder, when it starts again; returns how many were removed. Not recursive.
int remove_stale_temporaries(const std::string& dir);

}  // namespace tape::io
