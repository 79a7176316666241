// TensorBoard event writer: CRC-32C, TFRecord framing, hand-written protobuf encoding of
// tensorflow.Event, and the file that holds them.
#include "tape/summary/event_writer.h"

#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tape/error.h"

namespace tape::summary {

namespace {

constexpr std::uint32_t kCrc32cPolynomial = 0x82F63B78u;  // reflected Castagnoli
constexpr std::uint32_t kCrcMaskDelta = 0xa282ead8u;

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ kCrc32cPolynomial : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrc32cTable = make_crc32c_table();

void append_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

// Field numbers from tensorflow's event.proto and summary.proto.
namespace event_field {
constexpr int wall_time = 1, step = 2, file_version = 3, summary = 5;
}
namespace summary_field {
constexpr int value = 1;
}
namespace value_field {
constexpr int tag = 1, simple_value = 2, image = 4;
}
namespace image_field {
constexpr int height = 1, width = 2, colorspace = 3, encoded_image_string = 4;
}

// An Event carrying a Summary with a single, already encoded Summary.Value.
std::string encode_summary_event(double wall_time, std::int64_t step, const std::string& value) {
  std::string summary;
  protobuf::append_bytes_field(summary, summary_field::value, value);
  std::string event;
  protobuf::append_double_field(event, event_field::wall_time, wall_time);
  protobuf::append_int_field(event, event_field::step, step);
  protobuf::append_bytes_field(event, event_field::summary, summary);
  return event;
}

double now_seconds() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

std::string host_name() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') return "localhost";
  return std::string(buffer.data());
}

// events.out.tfevents.<unix seconds>.<hostname>, with a ".<n>" suffix if that name is taken.
std::filesystem::path new_event_file_path(const std::filesystem::path& dir) {
  const auto seconds = static_cast<std::int64_t>(now_seconds());
  const std::string base = "events.out.tfevents." + std::to_string(seconds) + "." + host_name();
  std::filesystem::path candidate = dir / base;
  std::error_code ec;
  for (int n = 1; std::filesystem::exists(candidate, ec); ++n) candidate = dir / (base + "." + std::to_string(n));
  return candidate;
}

void create_log_dir(const std::string& log_dir) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec || !std::filesystem::is_directory(log_dir))
    throw tape::IOError("EventWriter: cannot create log directory '" + log_dir + "'" +
                        (ec ? ": " + ec.message() : std::string(": not a directory")));
}

void check_image_arguments(int height, int width, int channels, std::size_t bytes) {
  if (height <= 0 || width <= 0)
    throw tape::ValueError("EventWriter::add_image: height and width must be positive; height=" +
                           std::to_string(height) + ", width=" + std::to_string(width));
  if (channels < 1 || channels > 4)
    throw tape::ValueError("EventWriter::add_image: channels must be 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 "
                           "(RGBA); channels=" + std::to_string(channels));
  if (bytes == 0) throw tape::ValueError("EventWriter::add_image: the encoded image is empty");
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (const char c : bytes) crc = kCrc32cTable[(crc ^ static_cast<std::uint8_t>(c)) & 0xffu] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

std::uint32_t mask_crc32c(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }

std::string frame_tfrecord(std::string_view payload) {
  std::string length;
  append_le(length, payload.size(), 8);
  std::string record = length;
  append_le(record, mask_crc32c(crc32c(length)), 4);
  record.append(payload);
  append_le(record, mask_crc32c(crc32c(payload)), 4);
  return record;
}

namespace protobuf {

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80u) {
    out.push_back(static_cast<char>((value & 0x7fu) | 0x80u));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_key(std::string& out, int field, WireType type) {
  append_varint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
}

void append_int_field(std::string& out, int field, std::int64_t value) {
  append_key(out, field, WireType::varint);
  append_varint(out, static_cast<std::uint64_t>(value));
}

void append_double_field(std::string& out, int field, double value) {
  append_key(out, field, WireType::fixed64);
  append_le(out, std::bit_cast<std::uint64_t>(value), 8);
}

void append_float_field(std::string& out, int field, float value) {
  append_key(out, field, WireType::fixed32);
  append_le(out, std::bit_cast<std::uint32_t>(value), 4);
}

void append_bytes_field(std::string& out, int field, std::string_view bytes) {
  append_key(out, field, WireType::length_delimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace protobuf

std::string encode_file_version_event(double wall_time) {
  std::string event;
  protobuf::append_double_field(event, event_field::wall_time, wall_time);
  protobuf::append_bytes_field(event, event_field::file_version, "brain.Event:2");
  return event;
}

std::string encode_scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value) {
  std::string summary_value;
  protobuf::append_bytes_field(summary_value, value_field::tag, tag);
  protobuf::append_float_field(summary_value, value_field::simple_value, value);
  return encode_summary_event(wall_time, step, summary_value);
}

std::string encode_image_event(double wall_time, std::int64_t step, std::string_view tag,
                               std::string_view encoded_image, int height, int width, int colorspace) {
  std::string image;
  protobuf::append_int_field(image, image_field::height, height);
  protobuf::append_int_field(image, image_field::width, width);
  protobuf::append_int_field(image, image_field::colorspace, colorspace);
  protobuf::append_bytes_field(image, image_field::encoded_image_string, encoded_image);
  std::string summary_value;
  protobuf::append_bytes_field(summary_value, value_field::tag, tag);
  protobuf::append_bytes_field(summary_value, value_field::image, image);
  return encode_summary_event(wall_time, step, summary_value);
}

EventWriter::EventWriter(const std::string& log_dir) {
  create_log_dir(log_dir);
  path_ = new_event_file_path(log_dir).string();
  out_.open(path_, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!out_)
    throw tape::IOError("EventWriter: cannot create event file '" + path_ + "': " + std::strerror(errno));
  write_record(encode_file_version_event(now_seconds()));
}

void EventWriter::add_scalar(const std::string& tag, std::int64_t step, double value) {
  write_record(encode_scalar_event(now_seconds(), step, tag, static_cast<float>(value)));
}

void EventWriter::add_image(const std::string& tag, std::int64_t step, const std::vector<std::uint8_t>& png_bytes,
                            int height, int width, int channels) {
  check_image_arguments(height, width, channels, png_bytes.size());
  const std::string_view encoded(reinterpret_cast<const char*>(png_bytes.data()), png_bytes.size());
  write_record(encode_image_event(now_seconds(), step, tag, encoded, height, width, channels));
}

void EventWriter::flush() {
  out_.flush();
  if (!out_) throw tape::IOError("EventWriter: cannot flush event file '" + path_ + "'");
}

const std::string& EventWriter::path() const { return path_; }

void EventWriter::write_record(std::string_view payload) {
  const std::string record = frame_tfrecord(payload);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
  if (!out_) throw tape::IOError("EventWriter: cannot write to event file '" + path_ + "'");
}

}  // namespace tape::summary
