// Generated images as files other tools read: `dcgan sample` writes a grid (.png), an IDX file
// (.idx, MNIST's own format), a NumPy array (.npy) or a folder of one PNG per image (what FID
// tools such as pytorch-fid take); `dcgan eval --samples` reads an IDX file back (tape::data::load_idx_images), so images made
// elsewhere (a PyTorch twin) are scored by the same classifier.
#pragma once
#include <cstdint>
#include <string>

#include "tape/tensor.h"

namespace dcgan {

enum class SampleFormat { grid, idx, npy, folder };

// By the name: *.png a grid, *.idx or *-ubyte IDX, *.npy NumPy, anything else a folder.
SampleFormat sample_format_of(const std::string& out);

// images [N, H, W, C] in [-1, 1] -> 8-bit pixels (make_grid's rounding):
//   IDX: magic 0x0803 [N, H, W] when C = 1, 0x0804 [N, H, W, C] otherwise (big-endian dims)
//   NumPy: format 1.0, '|u1', C-order, shape (N, H, W) when C = 1, (N, H, W, C) otherwise
// Each written atomically; throws tape::IOError naming the file.
void write_idx_images(const std::string& path, const tape::Tensor& images);
void write_npy_images(const std::string& path, const tape::Tensor& images);
// images [N, H, W, C] -> dir/00000.png, dir/00001.png, ... (the folder is created; first_index
// numbers the first image, so a large set can be written in chunks).
void write_image_folder(const std::string& dir, const tape::Tensor& images, std::int64_t first_index = 0);

}  // namespace dcgan
