// TensorBoard event-file tests: CRC-32C check values, protobuf wire bytes, TFRecord framing read
// back by an independent reader here (both CRCs of every record, corruption detected), flushing
// after every record, errors, and every record decoded by `protoc --decode=tensorflow.Event`
// against tests/summary/event.proto (skipped with a warning when protoc is not installed).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/test_support.h"
#include "tape/error.h"
#include "tape/summary/event_writer.h"

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

using test::TempDir;

// The directory holding event.proto (this file's directory).
fs::path event_proto_dir() {
#if defined(TAPE_TESTS_DIR)
  return fs::path(TAPE_TESTS_DIR) / "summary";
#elif defined(TAPE_SOURCE_DIR)
  return fs::path(TAPE_SOURCE_DIR) / "tests" / "summary";
#else
  return fs::path(__FILE__).parent_path();
#endif
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

std::string bytes_of(std::initializer_list<unsigned> values) {
  std::string s;
  for (const unsigned v : values) s.push_back(static_cast<char>(v));
  return s;
}

std::uint64_t read_le(const std::string& bytes, std::size_t offset, int count) {
  std::uint64_t value = 0;
  for (int i = 0; i < count; ++i)
    value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[offset + i])) << (8 * i);
  return value;
}

// The payloads of a TFRecord file, or the first framing / CRC problem found.
struct RecordScan {
  std::vector<std::string> payloads;
  std::string error;
};

// Reads TFRecords (uint64 length, masked crc of it, data, masked crc of it) checking both CRCs.
RecordScan scan_tfrecords(const std::string& file) {
  RecordScan scan;
  std::size_t pos = 0;
  while (pos < file.size()) {
    const std::string where = "record " + std::to_string(scan.payloads.size()) + " at byte " + std::to_string(pos);
    if (file.size() - pos < 12) return scan.error = where + ": truncated header", scan;
    const std::string length_bytes = file.substr(pos, 8);
    if (read_le(file, pos + 8, 4) != tape::summary::mask_crc32c(tape::summary::crc32c(length_bytes)))
      return scan.error = where + ": length CRC mismatch", scan;
    const std::uint64_t length = read_le(file, pos, 8);
    if (file.size() - pos - 12 < length + 4) return scan.error = where + ": truncated data", scan;
    std::string payload = file.substr(pos + 12, length);
    if (read_le(file, pos + 12 + length, 4) != tape::summary::mask_crc32c(tape::summary::crc32c(payload)))
      return scan.error = where + ": data CRC mismatch", scan;
    scan.payloads.push_back(std::move(payload));
    pos += 12 + length + 4;
  }
  return scan;
}

bool protoc_available() { return std::system("protoc --version > /dev/null 2>&1") == 0; }

// protoc's text rendering of one serialized tensorflow.Event; a failed decode fails the test.
std::string protoc_decode(const std::string& payload, const fs::path& scratch) {
  const fs::path input = scratch / "payload.bin";
  write_file(input, payload);
  const std::string command = "protoc --decode=tensorflow.Event --proto_path='" + event_proto_dir().string() +
                              "' event.proto < '" + input.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  const int status = ::pclose(pipe);
  INFO("command: " << command << "\noutput:\n" << text);
  REQUIRE(status == 0);
  return text;
}

// The wall_time printed by protoc, or -1 if absent.
double decoded_wall_time(const std::string& text) {
  const std::string key = "wall_time: ";
  const auto at = text.find(key);
  return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A valid 3x2 RGB PNG (8-bit, zlib-compressed scanlines).
const std::vector<std::uint8_t> kPng3x2 = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00,
    0x00, 0x00, 0x1c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x60, 0x60, 0x08, 0x08, 0x08, 0x58,
    0xb0, 0x60, 0x01, 0x43, 0x45, 0x45, 0xc5, 0x89, 0x13, 0x27, 0x24, 0x24, 0x24, 0x00, 0x3c, 0x2c, 0x06,
    0xd9, 0x6a, 0xb7, 0x3c, 0x66, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

// Three losses at two steps and one image: what a short DCGAN run writes. Returns the file path.
std::string write_sample_events(const fs::path& log_dir) {
  tape::summary::EventWriter writer(log_dir.string());
  writer.add_scalar("loss/discriminator", 1, 0.5);
  writer.add_scalar("loss/generator", 1, 1.25);
  writer.add_scalar("loss/discriminator", 2, -2.0);
  writer.add_image("samples", 2, kPng3x2, 2, 3, 3);
  writer.flush();
  return writer.path();
}

}  // namespace

TEST_CASE("crc32c matches the Castagnoli check values", "[tensorboard]") {
  CHECK(tape::summary::crc32c("123456789") == 0xE3069283u);
  CHECK(tape::summary::crc32c("") == 0u);
  // RFC 3720, appendix B.4.
  CHECK(tape::summary::crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(tape::summary::crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(tape::summary::crc32c(ascending) == 0x46DD794Eu);
}

TEST_CASE("masked crc32c rotates right by 15 and adds 0xa282ead8", "[tensorboard]") {
  CHECK(tape::summary::mask_crc32c(0xE3069283u) == 0xC78AB0E5u);
  CHECK(tape::summary::mask_crc32c(0u) == 0xa282ead8u);
}

TEST_CASE("protobuf wire encoding matches the specification's bytes", "[tensorboard]") {
  using namespace tape::summary::protobuf;
  auto varint = [](std::uint64_t v) {
    std::string out;
    append_varint(out, v);
    return out;
  };
  CHECK(varint(0) == bytes_of({0x00}));
  CHECK(varint(1) == bytes_of({0x01}));
  CHECK(varint(127) == bytes_of({0x7f}));
  CHECK(varint(128) == bytes_of({0x80, 0x01}));
  CHECK(varint(300) == bytes_of({0xac, 0x02}));

  std::string out;
  append_int_field(out, 1, 150);
  CHECK(out == bytes_of({0x08, 0x96, 0x01}));
  out.clear();
  append_int_field(out, 2, -1);  // ten bytes, as protobuf encodes negative int64
  CHECK(out == bytes_of({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  out.clear();
  append_double_field(out, 1, 1.0);
  CHECK(out == bytes_of({0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f}));
  out.clear();
  append_float_field(out, 2, 0.5f);
  CHECK(out == bytes_of({0x15, 0x00, 0x00, 0x00, 0x3f}));
  out.clear();
  append_bytes_field(out, 2, "testing");
  CHECK(out == bytes_of({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));
  out.clear();
  append_key(out, 16, WireType::length_delimited);  // field numbers past 15 take two bytes
  CHECK(out == bytes_of({0x82, 0x01}));
}

TEST_CASE("frame_tfrecord lays out length, masked CRCs and data", "[tensorboard]") {
  const std::string record = tape::summary::frame_tfrecord("abc");
  REQUIRE(record.size() == 8 + 4 + 3 + 4);
  CHECK(record.substr(0, 8) == bytes_of({3, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(read_le(record, 8, 4) == tape::summary::mask_crc32c(tape::summary::crc32c(record.substr(0, 8))));
  CHECK(record.substr(12, 3) == "abc");
  CHECK(read_le(record, 15, 4) == tape::summary::mask_crc32c(tape::summary::crc32c("abc")));
  const RecordScan scan = scan_tfrecords(record + tape::summary::frame_tfrecord(""));
  CHECK(scan.error.empty());
  REQUIRE(scan.payloads.size() == 2);
  CHECK(scan.payloads[0] == "abc");
  CHECK(scan.payloads[1].empty());
}

TEST_CASE("EventWriter names its file like TensorBoard and frames every record", "[tensorboard]") {
  TempDir tmp;
  const fs::path log_dir = tmp.path() / "runs" / "dcgan";  // created by the writer
  const std::string path = write_sample_events(log_dir);
  CHECK(fs::path(path).parent_path() == log_dir);
  CHECK_THAT(fs::path(path).filename().string(), Catch::StartsWith("events.out.tfevents."));

  const RecordScan scan = scan_tfrecords(read_file(path));
  INFO(scan.error);
  REQUIRE(scan.error.empty());
  REQUIRE(scan.payloads.size() == 5);  // file_version + 3 scalars + 1 image
  // wall_time (field 1, fixed64) then file_version (field 3, length-delimited).
  CHECK(scan.payloads[0].size() == 9 + 2 + 13);
  CHECK(scan.payloads[0].substr(0, 1) == bytes_of({0x09}));
  CHECK(scan.payloads[0].substr(9) == bytes_of({0x1a, 13}) + "brain.Event:2");
  CHECK_THAT(scan.payloads[4], Contains(std::string(kPng3x2.begin(), kPng3x2.end())));
}

TEST_CASE("EventWriter flushes each record as it is added", "[tensorboard]") {
  TempDir tmp;
  tape::summary::EventWriter writer(tmp.path().string());
  CHECK(scan_tfrecords(read_file(writer.path())).payloads.size() == 1);
  writer.add_scalar("loss/generator", 7, 0.25);
  RecordScan scan = scan_tfrecords(read_file(writer.path()));
  CHECK(scan.error.empty());
  CHECK(scan.payloads.size() == 2);
  writer.add_image("samples", 7, kPng3x2, 2, 3, 3);
  scan = scan_tfrecords(read_file(writer.path()));
  CHECK(scan.error.empty());
  CHECK(scan.payloads.size() == 3);
}

TEST_CASE("two EventWriters in one directory write two files", "[tensorboard]") {
  TempDir tmp;
  tape::summary::EventWriter first(tmp.path().string());
  tape::summary::EventWriter second(tmp.path().string());
  CHECK(first.path() != second.path());
  CHECK(scan_tfrecords(read_file(first.path())).payloads.size() == 1);
}

TEST_CASE("the record reader detects a corrupted byte or a truncated file", "[tensorboard]") {
  TempDir tmp;
  const std::string good = read_file(write_sample_events(tmp.path()));
  REQUIRE(scan_tfrecords(good).error.empty());

  std::string damaged = good;
  const std::size_t second_record = 12 + read_le(good, 0, 8) + 4;
  SECTION("a byte of a record's data") {
    damaged[second_record + 12 + 3] ^= 0x01;
    CHECK_THAT(scan_tfrecords(damaged).error, Contains("record 1") && Contains("data CRC mismatch"));
  }
  SECTION("a byte of a record's length") {
    damaged[second_record] ^= 0x01;
    CHECK_THAT(scan_tfrecords(damaged).error, Contains("record 1") && Contains("length CRC mismatch"));
  }
  SECTION("a byte of a stored CRC") {
    damaged[good.size() - 1] ^= 0x80;
    CHECK_THAT(scan_tfrecords(damaged).error, Contains("record 4") && Contains("data CRC mismatch"));
  }
  SECTION("the last record cut short") {
    damaged.resize(good.size() - 2);
    CHECK_THAT(scan_tfrecords(damaged).error, Contains("record 4") && Contains("truncated"));
  }
}

TEST_CASE("protoc decodes every record as a tensorflow.Event", "[tensorboard]") {
  if (!protoc_available()) {
    WARN("protoc not found (Debian package protobuf-compiler): protoc decoding not checked");
    return;
  }
  TempDir tmp;
  const double before = now_seconds();
  const RecordScan scan = scan_tfrecords(read_file(write_sample_events(tmp.path() / "log")));
  const double after = now_seconds();
  REQUIRE(scan.error.empty());
  REQUIRE(scan.payloads.size() == 5);

  std::vector<std::string> text;
  for (const auto& payload : scan.payloads) text.push_back(protoc_decode(payload, tmp.path()));
  for (const auto& t : text) {
    INFO(t);
    CHECK(decoded_wall_time(t) >= before - 1.0);
    CHECK(decoded_wall_time(t) <= after + 1.0);
  }

  INFO("record 0:\n" << text[0]);
  CHECK_THAT(text[0], Contains("file_version: \"brain.Event:2\""));
  CHECK_THAT(text[0], !Contains("summary"));

  INFO("record 1:\n" << text[1]);
  CHECK_THAT(text[1], Contains("step: 1"));
  CHECK_THAT(text[1], Contains("tag: \"loss/discriminator\""));
  CHECK_THAT(text[1], Contains("simple_value: 0.5"));

  INFO("record 2:\n" << text[2]);
  CHECK_THAT(text[2], Contains("step: 1"));
  CHECK_THAT(text[2], Contains("tag: \"loss/generator\""));
  CHECK_THAT(text[2], Contains("simple_value: 1.25"));

  INFO("record 3:\n" << text[3]);
  CHECK_THAT(text[3], Contains("step: 2"));
  CHECK_THAT(text[3], Contains("tag: \"loss/discriminator\""));
  CHECK_THAT(text[3], Contains("simple_value: -2"));

  INFO("record 4:\n" << text[4]);
  CHECK_THAT(text[4], Contains("step: 2"));
  CHECK_THAT(text[4], Contains("tag: \"samples\""));
  CHECK_THAT(text[4], Contains("height: 2"));
  CHECK_THAT(text[4], Contains("width: 3"));
  CHECK_THAT(text[4], Contains("colorspace: 3"));
  CHECK_THAT(text[4], Contains("encoded_image_string: \"\\211PNG\\r\\n\\032\\n"));
  CHECK_THAT(text[4], !Contains("simple_value"));
}

TEST_CASE("EventWriter errors name the file or the bad argument", "[tensorboard]") {
  TempDir tmp;
  const fs::path blocker = tmp.path() / "not_a_dir";
  write_file(blocker, "x");
  const std::string log_dir = (blocker / "log").string();
  CHECK_THROWS_AS(tape::summary::EventWriter(log_dir), tape::IOError);
  CHECK_THROWS_WITH(tape::summary::EventWriter(log_dir), Contains(log_dir));

  tape::summary::EventWriter writer(tmp.path().string());
  CHECK_THROWS_AS(writer.add_image("samples", 1, kPng3x2, 0, 3, 3), tape::ValueError);
  CHECK_THROWS_AS(writer.add_image("samples", 1, kPng3x2, 2, 3, 5), tape::ValueError);
  CHECK_THROWS_AS(writer.add_image("samples", 1, {}, 2, 3, 3), tape::ValueError);
  const RecordScan scan = scan_tfrecords(read_file(writer.path()));
  CHECK(scan.error.empty());
  CHECK(scan.payloads.size() == 1);  // rejected images wrote nothing
}
