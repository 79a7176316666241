// Consumer check of tape's modules, the way a user links them: tape::data reads a tiny IDX pair
// (written with tape::io) and batches it, tape::nn trains a small autoencoder on it and saves a
// checkpoint, tape::io writes a PNG grid and a plot of the losses, tape::summary a TensorBoard event file, and
// tape::metrics computes Fréchet distances between two small sets. Usage: modules_app OUT_DIR.
// Exit 0 only if every step did what it should.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <tape/data/batches.h>
#include <tape/data/dataset.h>
#include <tape/io/atomic_file.h>
#include <tape/io/image.h>
#include <tape/io/plot.h>
#include <tape/metrics/metrics.h>
#include <tape/nn/nn.h>
#include <tape/summary/event_writer.h>
#include <tape/tape.h>

namespace fs = std::filesystem;
namespace nn = tape::nn;

namespace {

bool check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "modules_app: %s\n", what);
  return ok;
}

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file: magic, big-endian dims, then the bytes.
std::vector<std::uint8_t> idx_file(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                   const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  put_be32(out, magic);
  for (std::uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: modules_app OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  bool ok = true;

  // tape::io + tape::data: 16 images of 4x4 and their labels as IDX files, read back and batched.
  constexpr std::uint32_t n = 16, side = 4;
  std::vector<std::uint8_t> pixels, labels;
  for (std::uint32_t i = 0; i < n; ++i) {
    labels.push_back(static_cast<std::uint8_t>(i % 10));
    for (std::uint32_t p = 0; p < side * side; ++p) pixels.push_back(static_cast<std::uint8_t>((i * 37 + p * 11) % 256));
  }
  const std::string images_path = (out / "images-idx3-ubyte").string(), labels_path = (out / "labels-idx1-ubyte").string();
  tape::io::write_file_atomically(images_path, idx_file(2051, {n, side, side}, pixels));
  tape::io::write_file_atomically(labels_path, idx_file(2049, {n}, labels));
  const tape::data::Dataset data = tape::data::load_idx_pair(images_path, labels_path);
  ok &= check(data.size() == n && data.images.shape() == tape::Shape({n, side, side, 1}), "load_idx_pair: wrong shape");
  tape::data::EpochBatches batches(data, 7);
  batches.seek(0, 0);

  // tape::nn: a 16-8-16 autoencoder trained for 60 steps; tape::summary logs the loss.
  nn::Sequential model(nn::Flatten(), nn::Dense(8, {.activation = nn::Activation::tanh}),
                       nn::Dense(side * side, {.activation = nn::Activation::tanh}));
  model.build({side, side, 1}, 1);
  const auto loss_on = [&](const tape::Tensor& x, bool training) {
    return nn::mean_squared_error(tape::reshape(x, {x.dim(0), side * side}), model(x, training));
  };
  const double loss_before = loss_on(data.images, false).item();
  nn::Adam opt({.learning_rate = 0.02});
  tape::summary::EventWriter events((out / "tensorboard").string());
  tape::io::Series losses{"loss", {}, {}};
  for (int step = 0; step < 60; ++step) {
    const tape::Tensor x = batches.next(8, 8);
    tape::GradientTape tape;
    const tape::Tensor loss = loss_on(x, true);
    opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
    events.add_scalar("loss", step, loss.item());
    losses.x.push_back(step), losses.y.push_back(loss.item());
  }
  tape::io::plot_lines((out / "losses.png").string(), {losses}, {.width = 400, .height = 240, .title = "loss"});
  ok &= check(tape::io::read_png((out / "losses.png").string()).width == 400, "losses.png: wrong width");
  const double loss_after = loss_on(data.images, false).item();
  ok &= check(std::isfinite(loss_after) && loss_after < 0.8 * loss_before, "training did not lower the loss");
  const std::string checkpoint = (out / "model.safetensors").string();
  nn::save_checkpoint(checkpoint, model, &opt);
  ok &= check(!nn::load_checkpoint(checkpoint, model, &opt).empty(), "checkpoint: no metadata read back");

  // tape::io: the reconstructions of the first 8 images as a PNG grid, also logged as an image.
  const tape::Tensor first = tape::data::gather_images(data, {0, 1, 2, 3, 4, 5, 6, 7});
  const tape::Tensor reconstructed = tape::reshape(model(first, false), {8, side, side, 1});
  const tape::io::Image grid = tape::io::make_grid(reconstructed, 4, 1, 2);
  tape::io::write_png((out / "grid.png").string(), grid);
  ok &= check(tape::io::read_png((out / "grid.png").string()).width == grid.width, "grid.png: wrong width");
  events.add_image("reconstructed", 60, tape::io::encode_png(grid), grid.height, grid.width, grid.channels);
  events.flush();
  ok &= check(fs::file_size(events.path()) > 0, "the event file is empty");

  // tape::metrics: Fréchet distance of a set to itself (0) and to itself shifted by 1 in each of
  // its 3 features (3: only the means differ).
  tape::Generator gen(5);
  tape::metrics::Matrix a, b;
  for (int i = 0; i < 40; ++i) {
    std::vector<double> row;
    for (int j = 0; j < 3; ++j) row.push_back(gen.uniform());
    a.push_back(row);
    for (double& v : row) v += 1.0;
    b.push_back(row);
  }
  const double same = tape::metrics::frechet_distance(a, a), shifted = tape::metrics::frechet_distance(a, b);
  ok &= check(std::fabs(same) < 1e-6 && std::fabs(shifted - 3.0) < 1e-6, "frechet_distance: wrong values");

  std::printf("loss %.4f -> %.4f, grid %dx%d, FID %.3g and %.6f, files in %s\n", loss_before, loss_after, grid.width,
              grid.height, same, shifted, out.string().c_str());
  return ok ? 0 : 1;
}
