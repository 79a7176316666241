// fuzz_make_seeds OUT: writes the seed corpus of every fuzz target into OUT/<target>/, made
// with the project's own writers so the seeds are the files users have: small IDX image and
// label files (raw and gzipped), CIFAR-10 records, PNGs, a losses.csv, batch schedules, a
// checkpoint of the fuzz model, dcgan checkpoint metadata and config.json files.
// The committed corpus (fuzz/corpus) was made by it; run it again when a format changes.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "fuzz_model.h"
#include "tape/io/csv_log.h"
#include "tape/io/image.h"
#include "tape/io/image_files.h"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("make_seeds: cannot write " + path.string());
}

void write_text(const fs::path& path, const std::string& text) { write_bytes(path, Bytes(text.begin(), text.end())); }

void write_gzip(const fs::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  if (!f || gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()) ||
      gzclose(f) != Z_OK) {
    throw std::runtime_error("make_seeds: cannot write " + path.string());
  }
}

Bytes be32(std::uint32_t v) { return {Bytes::value_type(v >> 24), Bytes::value_type(v >> 16), Bytes::value_type(v >> 8), Bytes::value_type(v)}; }

// images [n, h, w, 1] through tape::io's IDX writer; labels as an IDX1 file by hand (no writer).
void idx_seeds(const fs::path& dir) {
  tape::Generator gen(3);
  tape::io::write_idx_images((dir / "images3x4x4.idx").string(), tape::Tensor::uniform({3, 4, 4, 1}, gen, -1.0, 1.0));
  const Bytes images = read_bytes(dir / "images3x4x4.idx");
  write_gzip(dir / "images3x4x4.idx.gz", images);
  Bytes labels = be32(2049);
  for (const auto& b : be32(3)) labels.push_back(b);
  for (std::uint8_t l : {1, 7, 9}) labels.push_back(l);
  // The pair: the first byte cuts the rest into images and labels (fuzz_idx.cpp).
  const std::size_t rest = images.size() + labels.size();
  std::uint8_t cut = 0;
  while (cut < 255 && rest * cut / 255 != images.size()) ++cut;
  Bytes pair{cut};
  pair.insert(pair.end(), images.begin(), images.end());
  pair.insert(pair.end(), labels.begin(), labels.end());
  write_bytes(dir / "pair.bin", pair);
}

void cifar_seeds(const fs::path& dir) {
  Bytes records;
  for (int r = 0; r < 2; ++r) {
    records.push_back(static_cast<std::uint8_t>(3 + r));
    for (int i = 0; i < 3072; ++i) records.push_back(static_cast<std::uint8_t>((i * 7 + r * 31) & 255));
  }
  write_bytes(dir / "two_records.bin", records);
}

void png_seeds(const fs::path& dir) {
  tape::io::Image gray{4, 3, 1, Bytes(12)}, rgb{2, 2, 3, Bytes(12)};
  for (std::size_t i = 0; i < 12; ++i) gray.pixels[i] = rgb.pixels[i] = static_cast<std::uint8_t>(i * 21);
  tape::io::write_png((dir / "gray4x3.png").string(), gray);
  tape::io::write_png((dir / "rgb2x2.png").string(), rgb);
}

void csv_seeds(const fs::path& dir) {
  const fs::path path = dir / "losses.csv.tmp";
  tape::io::CsvLog log(path.string(), {{"step", "%.0f"}, {"d_loss", "%.6f"}, {"g_loss", "%.6f"}});
  log.start();
  for (int step = 1; step <= 3; ++step) log.append({double(step), 1.0 / step, 0.5 * step});
  Bytes bytes{2};  // resume at step 2 (fuzz_csv.cpp)
  const Bytes csv = read_bytes(path);
  bytes.insert(bytes.end(), csv.begin(), csv.end());
  write_bytes(dir / "losses.bin", bytes);
  fs::remove(path);
}

void options_seeds(const fs::path& dir) {
  write_text(dir / "two_changes.txt", "5000:128,12000:256");
  write_text(dir / "none.txt", "none");
}

void checkpoint_seeds(const fs::path& dir) {
  tape::fuzz::FuzzModel m;
  tape::nn::save_checkpoint((dir / "fuzz_model.safetensors").string(), m.model, &m.adam,
                            {{{"note", "seed"}}, {{"rng", &m.rng}}});
}

void dcgan_seeds(const fs::path& checkpoints, const fs::path& configs) {
  const std::map<std::string, std::string> meta{{"step", "1200"},     {"epoch", "2"},         {"image_in_epoch", "640"},
                                                {"arch", "mnist-fast"}, {"z_dim", "100"},       {"noise", "normal"},
                                                {"seed", "1"},        {"last_losses", "0x1.6p-1,0x1.2p-1,0x1.8p+0"}};
  tape::nn::save_safetensors((checkpoints / "metadata.safetensors").string(), {{}, meta});
  auto old = meta;  // a checkpoint from before image_in_epoch: the batch within the epoch
  old.erase("image_in_epoch");
  old.erase("last_losses");
  old["batch_in_epoch"] = "10";
  tape::nn::save_safetensors((checkpoints / "metadata_old.safetensors").string(), {{}, old});
  write_text(configs / "config.json",
             "{\"arch\": \"mnist-fast\", \"batch\": 64, \"batch_from\": [[5000, 128]], \"lr\": 0.002, \"steps\": 8000}");
  write_text(configs / "config_old.json", "{\"batch\": 128}");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds OUT\n";
    return 2;
  }
  const fs::path out(argv[1]);
  auto dir = [&](const char* name) {
    const fs::path d = out / name;
    fs::create_directories(d);
    return d;
  };
  idx_seeds(dir("idx"));
  cifar_seeds(dir("cifar10"));
  png_seeds(dir("png"));
  csv_seeds(dir("csv"));
  options_seeds(dir("options"));
  checkpoint_seeds(dir("checkpoint"));
  dcgan_seeds(dir("dcgan_checkpoint"), dir("run_config"));
  std::cout << "seeds written to " << out << "\n";
  return 0;
}
