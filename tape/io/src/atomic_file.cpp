// AtomicFile: temporary file beside the target, write, fsync, rename, fsync of the directory.
#include "tape/io/atomic_file.h"
#include "posix_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "tape/error.h"

namespace tape::io {
namespace detail {

std::string os_error(int err) { return std::system_category().message(err); }

int write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return errno;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return 0;
}

}  // namespace detail

namespace {

using detail::os_error;
using detail::write_all;

[[noreturn]] void io_fail(const std::string& op, const std::string& path, const std::string& what) {
  throw IOError(op + ": " + path + ": " + what);
}

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// Closes `fd` (when open) and sets it to -1; returns 0 or the errno of close().
int close_fd(int& fd) {
  const int old = std::exchange(fd, -1);
  return old >= 0 && ::close(old) != 0 ? errno : 0;
}

// fsync()s a directory so that a rename inside it is durable. Returns 0 or errno; EINVAL (a
// file system that cannot sync directories) counts as success.
int sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    close_fd(fd);
    return err;
  }
  return close_fd(fd);
}

std::string parent_directory(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// Six characters for a temporary name, different on every call.
std::string random_suffix() {
  static std::atomic<std::uint64_t> calls{0};
  std::uint64_t x = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                    (static_cast<std::uint64_t>(::getpid()) << 32) ^ (calls.fetch_add(1) * 0x9E3779B97F4A7C15ull);
  x ^= x >> 31, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 27, x *= 0x94D049BB133111EBull, x ^= x >> 31;
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(6, ' ');
  for (char& c : s) c = alphabet[(x >>= 6) % 62];
  return s;
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string op) : path_(std::move(path)), op_(std::move(op)) {
  if (path_.empty()) io_fail(op_, path_, "the path is empty");
  int err = EEXIST;
  for (int attempt = 0; attempt < 100 && err == EEXIST; ++attempt) {
    temp_ = path_ + ".tmp-" + random_suffix();
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    err = errno;
  }
  io_fail(op_, path_, "cannot create temporary file " + in_quotes(temp_) + ": " + os_error(err));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    close_fd(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t n) { check(write_all(fd_, data, n), "cannot write"); }

void AtomicFile::commit() {
  check(::fsync(fd_) == 0 ? 0 : errno, "cannot fsync");
  check(close_fd(fd_), "cannot close");
  check(std::rename(temp_.c_str(), path_.c_str()) == 0 ? 0 : errno, "cannot rename");
  committed_ = true;
  const std::string dir = parent_directory(path_);
  if (const int err = sync_directory(dir))
    io_fail(op_, path_, "written, but cannot fsync directory " + in_quotes(dir) + ": " + os_error(err));
}

void AtomicFile::check(int err, const char* what) const {
  if (err != 0) io_fail(op_, path_, std::string(what) + " temporary file " + in_quotes(temp_) + ": " + os_error(err));
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& op) {
  AtomicFile file(path, op);
  file.write(bytes);
  file.commit();
}

void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes, const std::string& op) {
  AtomicFile file(path, op);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const std::size_t at = name.rfind(".tmp-");
    const bool temporary = at != std::string::npos && at > 0 && name.size() == at + 11 &&
                           std::all_of(name.begin() + static_cast<std::ptrdiff_t>(at) + 5, name.end(),
                                       [](unsigned char c) { return std::isalnum(c) != 0; });
    std::error_code remove_ec;
    if (temporary && entry.is_regular_file(remove_ec) && fs::remove(entry.path(), remove_ec)) ++removed;
  }
  return removed;
}

}  // namespace tape::io
