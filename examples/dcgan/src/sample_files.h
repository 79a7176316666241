// Where `dcgan sample` writes: a grid (.png), an IDX file (.idx), a NumPy array (.npy) or a folder
// of one PNG per image (tape::io::write_idx_images and its siblings write the files).
#pragma once
#include <string>

namespace dcgan {

enum class SampleFormat { grid, idx, npy, folder };

// By the name: *.png a grid, *.idx or *-ubyte IDX, *.npy NumPy, anything else a folder.
SampleFormat sample_format_of(const std::string& out);

}  // namespace dcgan
