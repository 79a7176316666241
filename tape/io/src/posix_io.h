// Internal to tape::io: the POSIX write loop and error text shared by AtomicFile and CsvLog
// (defined in atomic_file.cpp).
#pragma once
#include <cstddef>
#include <string>

namespace tape::io::detail {

// Writes all of [data, data + n) to `fd`, retrying on EINTR; returns 0 or errno.
int write_all(int fd, const void* data, std::size_t n);
// The OS's text for errno value `err` (what strerror gives).
std::string os_error(int err);

}  // namespace tape::io::detail
