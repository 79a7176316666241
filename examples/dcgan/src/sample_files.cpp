// The sample file format a name asks for.
#include "sample_files.h"

namespace dcgan {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

SampleFormat sample_format_of(const std::string& out) {
  if (ends_with(out, ".png")) return SampleFormat::grid;
  if (ends_with(out, ".idx") || ends_with(out, "-ubyte")) return SampleFormat::idx;
  if (ends_with(out, ".npy")) return SampleFormat::npy;
  return SampleFormat::folder;
}

}  // namespace dcgan
