// TensorBoard event files without libprotobuf: tensorflow.Event messages encoded by hand, framed
// as TFRecords (length, masked CRC-32C, data, masked CRC-32C) and flushed one record at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace tape::summary {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78); crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::string_view bytes);
// TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
std::uint32_t mask_crc32c(std::uint32_t crc);
// One TFRecord: uint64 length (LE), uint32 masked CRC of those 8 bytes, payload, masked CRC of it.
std::string frame_tfrecord(std::string_view payload);

// Protocol-buffer wire encoding, appended to a byte string.
namespace protobuf {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

void append_varint(std::string& out, std::uint64_t value);
void append_key(std::string& out, int field, WireType type);
// int32/int64 fields: varints; negative values take ten bytes (two's complement), as protobuf does.
void append_int_field(std::string& out, int field, std::int64_t value);
void append_double_field(std::string& out, int field, double value);
void append_float_field(std::string& out, int field, float value);
// string, bytes and embedded-message fields.
void append_bytes_field(std::string& out, int field, std::string_view bytes);

}  // namespace protobuf

// Serialized tensorflow.Event messages (field numbers of tensorflow/core/util/event.proto and
// tensorflow/core/framework/summary.proto).
std::string encode_file_version_event(double wall_time);
std::string encode_scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value);
// colorspace: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (the channel count).
std::string encode_image_event(double wall_time, std::int64_t step, std::string_view tag,
                               std::string_view encoded_image, int height, int width, int colorspace);

// Writes events.out.tfevents.<unix seconds>.<hostname> in log_dir (created if needed). Every
// record is written and flushed at once, so a crash loses at most the record being written.
// Errors throw tape::IOError naming the file; bad image arguments throw tape::ValueError.
class EventWriter {
 public:
  explicit EventWriter(const std::string& log_dir);

  void add_scalar(const std::string& tag, std::int64_t step, double value);
  // png_bytes: an encoded image (PNG); channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
  void add_image(const std::string& tag, std::int64_t step, const std::vector<std::uint8_t>& png_bytes,
                 int height, int width, int channels);
  void flush();
  const std::string& path() const;

 private:
  void write_record(std::string_view payload);

  std::string path_;
  std::ofstream out_;
};

}  // namespace tape::summary
