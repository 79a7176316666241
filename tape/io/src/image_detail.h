// Helpers shared by image.cpp and plot.cpp (not installed).
#pragma once
#include <string>

#include "tape/io/image.h"

namespace tape::io::detail {

std::string quoted(const std::string& s);
// IOError "<op>: cannot write '<path>': <what>".
[[noreturn]] void io_fail(const char* op, const std::string& path, const std::string& what);
// ValueError "<op>: <what>".
[[noreturn]] void value_fail(const char* op, const std::string& what);
// write_png with errors naming `op` and `path`.
void write_png_as(const std::string& path, const Image& image, const char* op);

}  // namespace tape::io::detail
