// Image sets as files other tools read: IDX (MNIST's own format, what tape::data::load_idx_images
// reads back), NumPy .npy arrays, and folders of one PNG per image (what FID tools such as
// pytorch-fid take).
#pragma once
#include <cstdint>
#include <string>

#include "tape/tensor.h"

namespace tape::io {

// images [N, H, W, C] in [-1, 1] -> 8-bit pixels (make_grid's rounding):
//   IDX: magic 0x0803 [N, H, W] when C = 1, 0x0804 [N, H, W, C] otherwise (big-endian dims)
//   NumPy: format 1.0, '|u1', C-order, shape (N, H, W) when C = 1, (N, H, W, C) otherwise
// Each written atomically; throws tape::ShapeError for a bad shape, tape::IOError naming the file.
void write_idx_images(const std::string& path, const tape::Tensor& images);
void write_npy_images(const std::string& path, const tape::Tensor& images);
// images [N, H, W, C] -> dir/00000.png, dir/00001.png, ... (the folder is created; first_index
// numbers the first image, so a large set can be written in chunks).
void write_image_folder(const std::string& dir, const tape::Tensor& images, std::int64_t first_index = 0);

}  // namespace tape::io
