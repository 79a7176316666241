// The dcgan program's trainer on tiny synthetic data: architectures and their parameter counts,
// a few steps leaving every output file, bit-exact --resume after an interruption, sampling from
// a checkpoint, Fashion-MNIST and CIFAR-10 runs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gif_lib.h>
#include <tape/io/image.h>

#include <tape/data/batches.h>
#include <tape/data/dataset.h>

#include "architectures.h"
#include "data_files.h"
#include "presets.h"
#include "sample_files.h"
#include "support/file_size_limit.h"
#include "support/test_support.h"
#include "trainer.h"

using namespace test_files;
namespace nn = tape::nn;

namespace {

std::vector<std::string> csv_rows(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> rows;
  std::string line;
  while (std::getline(f, line)) rows.push_back(line);
  return rows;
}

// The columns that must match between runs: step .. D(G(z)) (not images/s or wall time).
std::string deterministic_part(const std::string& row) {
  std::size_t pos = 0;
  for (int i = 0; i < 7; ++i) pos = row.find(',', pos) + 1;
  return row.substr(0, pos);
}

}  // namespace

TEST_CASE("every architecture builds with its pinned parameter counts", "[dcgan][arch]") {
  struct Expected {
    const char* name;
    std::int64_t g, d;
    std::vector<std::int64_t> image;
  };
  const std::vector<Expected> expected = {{"tf-tutorial", 2330944, 212865, {28, 28, 1}},
                                          {"keras-small", 840705, 212865, {28, 28, 1}},
                                          {"tf-gan", 1792385, 59265, {28, 28, 1}},
                                          {"vstark21", 2343681, 1030145, {28, 28, 1}},
                                          {"libtorch", 838400, 660224, {28, 28, 1}},
                                          {"mnist-fast", 838400, 166272, {28, 28, 1}},
                                          {"mnist-lean", 312704, 660224, {28, 28, 1}},
                                          {"mnist-fast-sn", 838400, 168433, {28, 28, 1}},
                                          {"feziodoshi", 328737, 3265409, {28, 28, 1}},
                                          {"cifar", 18127363, 4310145, {32, 32, 3}}};
  REQUIRE(expected.size() == dcgan::architecture_names().size());
  for (const auto& e : expected) {
    INFO(e.name);
    dcgan::Architecture a = dcgan::make_architecture(e.name, 100, 1);
    REQUIRE(a.generator.count_params() == e.g);
    REQUIRE(a.discriminator.count_params() == e.d);
    REQUIRE(a.image_shape == e.image);
    REQUIRE(a.generator.output_shape() == tape::Shape(e.image));
    REQUIRE(a.discriminator.output_shape() == tape::Shape({1}));
  }
  REQUIRE_THROWS_AS(dcgan::make_architecture("nope", 100, 1), tape::ValueError);
}

TEST_CASE("an architecture built twice in one process loads the other's checkpoint", "[dcgan]") {
  TempDir dir;
  const std::string saved = dir.file("a.safetensors"), resaved = dir.file("b.safetensors");
  dcgan::Architecture a = dcgan::make_architecture("mnist-fast-sn", 8, 1), b = dcgan::make_architecture("mnist-fast-sn", 8, 2);
  nn::save_checkpoint(saved, {{"generator", &a.generator, nullptr}, {"discriminator", &a.discriminator, nullptr}});
  nn::load_checkpoint(saved, {{"generator", &b.generator, nullptr}, {"discriminator", &b.discriminator, nullptr}});
  nn::save_checkpoint(resaved, {{"generator", &b.generator, nullptr}, {"discriminator", &b.discriminator, nullptr}});
  require_same_tensors(saved, resaved);
  REQUIRE(nn::load_safetensors(saved).tensors.count("discriminator/discriminator/spectral_normalization/conv2d/kernel") == 1);
}

TEST_CASE("a few training steps give finite losses and every output file", "[dcgan][train]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.tensorboard = true;
  c.tensorboard_every = 2;
  c.sample_every = 3;
  REQUIRE(dcgan::train(c) == 0);
  const std::string run = out.file("run");
  for (const char* f : {"config.json", "losses.csv", "losses.png", "progress.gif", "samples/epoch_0001.png",
                        "samples/epoch_0002.png", "samples/step_00000003.png", "checkpoints/ckpt-00000006.safetensors"}) {
    INFO(f);
    REQUIRE(fs::exists(run + "/" + f));
  }
  REQUIRE(!fs::is_empty(run + "/tensorboard"));
  // 40 images / batch 8 = 5 steps per epoch: step 6 is in epoch 2.
  const auto rows = csv_rows(run + "/losses.csv");
  REQUIRE(rows.size() == 7);
  REQUIRE(rows[0] == "step,epoch,d_loss_real,d_loss_fake,g_loss,d_x,d_g_z,images_per_sec,wall_time");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    double values[9];
    REQUIRE(std::sscanf(rows[i].c_str(), "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &values[0], &values[1], &values[2],
                        &values[3], &values[4], &values[5], &values[6], &values[7], &values[8]) == 9);
    for (double v : values) REQUIRE(std::isfinite(v));
    REQUIRE(values[0] == double(i));
  }
  REQUIRE(rows[6].rfind("6,2,", 0) == 0);
  // The default keep of 3 checkpoints.
  std::size_t checkpoints = 0;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) checkpoints += e.path().extension() == ".safetensors";
  REQUIRE(checkpoints == 3);
  const tape::io::Image grid = tape::io::read_png(run + "/samples/epoch_0001.png");
  REQUIRE(grid.channels == 1);
  REQUIRE(grid.width == grid.height);
  // dcgan render makes the GIF and the plot again from the folder's files.
  fs::remove(run + "/progress.gif");
  fs::remove(run + "/losses.png");
  dcgan::render(run);
  REQUIRE(fs::file_size(run + "/progress.gif") > 0);
  REQUIRE(tape::io::read_png(run + "/losses.png").width == 800);
  std::ifstream config(run + "/config.json");
  std::stringstream text;
  text << config.rdbuf();
  REQUIRE_THAT(text.str(), Catch::Contains("\"arch\": \"keras-small\"") && Catch::Contains("\"seed\": 7"));
}

TEST_CASE("resuming after an interruption matches an uninterrupted run bit for bit", "[dcgan][train][resume]") {
  for (const std::string mode :
       {"plain", "balance", "wgan-gp", "ema", "schedule-hinge-alternating", "batch-from", "conditional-alternating-fresh"}) {
    INFO(mode);
    TempDir data, out;
    write_tiny_mnist(data, 40);
    const std::string whole = out.file("whole"), split = out.file("split");
    dcgan::TrainConfig c = tiny_config(data, whole);
    c.steps = 8;
    c.balance = mode == "balance";
    if (mode == "wgan-gp") c.loss = "wgan-gp", c.n_critic = 3;
    if (mode == "ema") c.ema = 0.9, c.ema_start = 2;
    if (mode == "batch-from") c.batch_from = {{2, 16}, {5, 12}};  // the interruption after step 3 falls between
    if (mode == "conditional-alternating-fresh") c.conditional = true, c.updates = "alternating-fresh";
    if (mode == "schedule-hinge-alternating") {
      c.loss = "hinge", c.updates = "alternating", c.lr_schedule = "cosine", c.lr_decay_start = 0.25;
      c.g_lr = 1e-4, c.d_lr = 4e-4, c.r1_gamma = 0.5, c.r1_every = 3;  // R1 at steps 3 and 6 (lazy)
    }
    c.checkpoint_every = 100;  // only the interruption and the end write checkpoints in the split run
    REQUIRE(dcgan::train(c) == 0);

    c.out = split;
    c.keep_going = [](std::int64_t step) { return step < 3; };  // "Ctrl-C" after step 3, mid-epoch
    REQUIRE(dcgan::train(c) == 0);
    REQUIRE(fs::exists(split + "/checkpoints/ckpt-00000003.safetensors"));
    c.keep_going = nullptr;
    c.resume = true;
    REQUIRE(dcgan::train(c) == 0);

    require_same_tensors(whole + "/checkpoints/ckpt-00000008.safetensors",
                         split + "/checkpoints/ckpt-00000008.safetensors");
    const auto a = csv_rows(whole + "/losses.csv"), b = csv_rows(split + "/losses.csv");
    REQUIRE(a.size() == 9);
    REQUIRE(b.size() == 9);
    for (std::size_t i = 1; i < a.size(); ++i) REQUIRE(deterministic_part(a[i]) == deterministic_part(b[i]));
  }
}

TEST_CASE("a run resumed with another --batch goes on after the images already drawn", "[dcgan][train][resume]") {
  for (const std::int64_t new_batch : {16, 40, 4}) {
    INFO(new_batch);
    TempDir data, out;
    write_tiny_mnist(data, 40);
    dcgan::TrainConfig c = tiny_config(data, out.file("run"));  // batch 8: 5 batches per epoch
    c.steps = 6;
    c.checkpoint_every = 100;
    c.keep_going = [](std::int64_t step) { return step < 4; };  // 32 of the epoch's 40 images drawn
    REQUIRE(dcgan::train(c) == 0);
    c.keep_going = nullptr;
    c.resume = true;
    c.batch = new_batch;  // 16, 40: the next epoch; 4: batch 8 of the same epoch
    REQUIRE(dcgan::train(c) == 0);
    REQUIRE(csv_rows(out.file("run") + "/losses.csv").size() == 7);
    REQUIRE(fs::exists(out.file("run") + "/checkpoints/ckpt-00000006.safetensors"));
  }
}

TEST_CASE("batch changes (--batch-from) parse from STEP:BATCH lists and the trainer refuses changes it cannot make", "[dcgan][train]") {
  using Changes = std::vector<dcgan::TrainConfig::BatchChange>;
  const Changes two = dcgan::parse_batch_changes("5000:128,8000:256");
  REQUIRE(two.size() == 2);
  REQUIRE((two[0].step == 5000 && two[0].batch == 128 && two[1].step == 8000 && two[1].batch == 256));
  REQUIRE(dcgan::parse_batch_changes("").empty());
  REQUIRE(dcgan::parse_batch_changes("none").empty());
  for (const char* bad : {"5000", "5000:", ":128", "5000:128:3", "5000-128", "0:128", "5000:0", "x:1", "5000:128,"}) {
    INFO(bad);
    if (std::string(bad) == "5000:128,") {
      REQUIRE(dcgan::parse_batch_changes(bad).size() == 1);  // a trailing comma ends the list
      continue;
    }
    REQUIRE_THROWS_WITH(dcgan::parse_batch_changes(bad), Catch::Contains("--batch-from") && Catch::Contains(bad));
  }
  dcgan::TrainConfig schedule;
  schedule.batch = 64;
  schedule.batch_from = two;
  REQUIRE(dcgan::images_in_steps(schedule, 0) == 0);
  REQUIRE(dcgan::images_in_steps(schedule, 5000) == 5000 * 64);
  REQUIRE(dcgan::images_in_steps(schedule, 5001) == 5000 * 64 + 128);
  REQUIRE(dcgan::images_in_steps(schedule, 9000) == 5000 * 64 + 3000 * 128 + 1000 * 256);
  TempDir data, out;
  write_tiny_mnist(data, 40);
  for (const Changes& wrong : {Changes{{3, 16}, {2, 8}}, Changes{{2, 41}}}) {
    dcgan::TrainConfig c = tiny_config(data, out.file("run"));
    c.batch_from = wrong;
    REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--batch-from"));
  }
}

TEST_CASE("batch changes (--batch-from) train the later steps on larger batches", "[dcgan][train]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 5;
  c.batch_from = {{2, 16}};
  REQUIRE(dcgan::train(c) == 0);
  std::ifstream config(out.file("run") + "/config.json");
  std::stringstream text;
  text << config.rdbuf();
  REQUIRE_THAT(text.str(), Catch::Contains("\"batch_from\": [\n    [\n      2,\n      16"));
  // steps 1-2 draw 16 of epoch 1's 40 images, step 3 the next 16; 8 left: step 4 starts epoch 2
  const auto rows = csv_rows(out.file("run") + "/losses.csv");
  REQUIRE(rows.size() == 6);
  REQUIRE(rows[3].rfind("3,1,", 0) == 0);
  REQUIRE(rows[4].rfind("4,2,", 0) == 0);
}

// Trains 2 steps on tiny data into out/run; returns the step-2 checkpoint.
static std::string two_step_checkpoint(const TempDir& data, const TempDir& out) {
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 2;
  REQUIRE(dcgan::train(c) == 0);
  return out.file("run") + "/checkpoints/ckpt-00000002.safetensors";
}

TEST_CASE("dcgan sample writes a grid from a checkpoint", "[dcgan][sample]") {
  TempDir data, out;
  two_step_checkpoint(data, out);
  const std::string png = out.file("grid.png");
  dcgan::sample(out.file("run") + "/checkpoints/ckpt-00000002.safetensors", 9, {.seed = 3}, png);
  const tape::io::Image grid = tape::io::read_png(png);
  REQUIRE(grid.channels == 1);
  REQUIRE(grid.width == 3 * 28 * 4 + 4 * 2);  // 3 columns of 4x-scaled tiles and 2-pixel borders
  REQUIRE_THROWS_AS(dcgan::sample(out.file("missing.safetensors"), 4, {}, png), tape::IOError);
  dcgan::sample(out.file("run") + "/checkpoints/ckpt-00000002.safetensors", 4, {.seed = 3, .batch_statistics = true}, png);
  REQUIRE(tape::io::read_png(png).width == 2 * 28 * 4 + 3 * 2);
}

TEST_CASE("dcgan sample writes IDX, NumPy and PNG-folder files that read back as the same pixels", "[dcgan][sample]") {
  TempDir data, out;
  const std::string ckpt = two_step_checkpoint(data, out);
  REQUIRE(dcgan::sample_format_of("a.png") == dcgan::SampleFormat::grid);
  REQUIRE(dcgan::sample_format_of("a.idx") == dcgan::SampleFormat::idx);
  REQUIRE(dcgan::sample_format_of("t10k-images-idx3-ubyte") == dcgan::SampleFormat::idx);
  REQUIRE(dcgan::sample_format_of("a.npy") == dcgan::SampleFormat::npy);
  REQUIRE(dcgan::sample_format_of("folder") == dcgan::SampleFormat::folder);
  for (const char* name : {"s.idx", "s.npy", "s-folder"}) {
    dcgan::sample(ckpt, 1203, {.seed = 5}, out.file(name));  // more than the old cap's tile count and not a multiple of 500
  }
  // the same noise seed gives the same images in every format
  const tape::Tensor idx = tape::data::load_idx_images(out.file("s.idx"));
  REQUIRE(idx.shape() == tape::Shape({1203, 28, 28, 1}));
  const auto idx_pixels = tape::io::to_pixels(idx);
  std::ifstream npy(out.file("s.npy"), std::ios::binary);
  const Bytes npy_bytes((std::istreambuf_iterator<char>(npy)), std::istreambuf_iterator<char>());
  REQUIRE(std::string(npy_bytes.begin() + 1, npy_bytes.begin() + 6) == "NUMPY");
  const std::size_t header = 10 + (npy_bytes[8] | npy_bytes[9] << 8);
  REQUIRE(header % 64 == 0);
  REQUIRE_THAT(std::string(npy_bytes.begin() + 10, npy_bytes.begin() + static_cast<std::ptrdiff_t>(header)),
               Catch::Contains("'descr': '|u1'") && Catch::Contains("'shape': (1203, 28, 28)"));
  REQUIRE(Bytes(npy_bytes.begin() + static_cast<std::ptrdiff_t>(header), npy_bytes.end()) == idx_pixels);
  REQUIRE(fs::exists(out.file("s-folder") + "/01202.png"));
  REQUIRE_FALSE(fs::exists(out.file("s-folder") + "/01203.png"));
  const tape::io::Image last = tape::io::read_png(out.file("s-folder") + "/01202.png");
  REQUIRE(last.width == 28);
  REQUIRE(last.pixels == Bytes(idx_pixels.end() - 28 * 28, idx_pixels.end()));
  REQUIRE_THROWS_AS(dcgan::sample(ckpt, 0, {.seed = 5}, out.file("zero.idx")), tape::ValueError);
  REQUIRE_THROWS_AS(tape::data::load_idx_images(out.file("s.npy")), tape::IOError);
}

TEST_CASE("dcgan sample --truncation draws every noise value within the bound, and 0 means plain N(0, 1)",
          "[dcgan][sample]") {
  TempDir data, out;
  const std::string ckpt = two_step_checkpoint(data, out);
  auto pixels = [&](const dcgan::NoiseOptions& noise, const std::string& name) {
    dcgan::sample(ckpt, 40, noise, out.file(name));
    return tape::io::to_pixels(tape::data::load_idx_images(out.file(name)));
  };
  const Bytes plain = pixels({.seed = 5}, "plain.idx");
  REQUIRE(pixels({.seed = 5, .truncation = 0.0}, "zero.idx") == plain);
  const Bytes truncated = pixels({.seed = 5, .truncation = 0.5}, "half.idx");
  REQUIRE(truncated != plain);
  REQUIRE(pixels({.seed = 5, .truncation = 0.5}, "again.idx") == truncated);
  REQUIRE_THROWS_AS(dcgan::sample(ckpt, 4, {.truncation = -1.0}, out.file("negative.idx")), tape::ValueError);
}

TEST_CASE("presets expand before the user's words, and the default applies without --preset or --arch", "[dcgan][preset]") {
  using V = std::vector<std::string>;
  const V def = dcgan::expand_preset({"--data", "d"});
  REQUIRE(def.size() >= 4);
  REQUIRE(V(def.begin(), def.begin() + 2) == V{"--preset", dcgan::presets().front().name});
  REQUIRE(V(def.end() - 2, def.end()) == V{"--data", "d"});
  REQUIRE(dcgan::expand_preset({"--arch", "tf-tutorial"}) == V{"--arch", "tf-tutorial"});  // a seed's arch as before
  const V k = dcgan::expand_preset({"--preset=keras-small", "--steps", "10"});
  REQUIRE(k.front() == "--preset");
  REQUIRE(std::find(k.begin(), k.end(), "keras-small") != k.end());
  REQUIRE(V(k.end() - 2, k.end()) == V{"--steps", "10"});  // the user's last: it wins
  const V e = dcgan::expand_preset({"--preset", "keras-small", "--epochs", "2"});
  REQUIRE(std::find(e.begin(), e.end(), "--steps") == e.end());  // --epochs excludes the preset's --steps
  const V t = dcgan::expand_preset({"--preset", "tf-gan", "--steps", "100"});
  REQUIRE(std::find(t.begin(), t.end(), "--epochs") == t.end());  // and --steps the preset's --epochs
  REQUIRE(dcgan::expand_preset({"--dataset", "cifar10"})[1] == "cifar");
  REQUIRE_THROWS_WITH(dcgan::expand_preset({"--preset", "nope"}), Catch::Contains("nope") && Catch::Contains("tf-tutorial"));
  for (const auto& p : dcgan::presets()) {
    INFO(p.name);
    for (std::size_t i = 0; i < p.args.size(); ++i) {  // "--option value" pairs, or one "--flag=value" word
      REQUIRE(p.args[i].rfind("--", 0) == 0);
      if (p.args[i].find('=') == std::string::npos) REQUIRE(++i < p.args.size());
    }
    REQUIRE(std::find(dcgan::architecture_names().begin(), dcgan::architecture_names().end(),
                      p.args[std::find(p.args.begin(), p.args.end(), "--arch") - p.args.begin() + 1]) !=
            dcgan::architecture_names().end());
  }
}

TEST_CASE("hinge loss and alternating updates: both nets move, D first, losses as documented", "[dcgan][train]") {
  TempDir data;
  write_tiny_mnist(data, 16);
  const tape::data::Dataset ds = tape::data::load_mnist(data.str(), true, false);
  const tape::Tensor real = tape::slice(ds.images, {0, 0, 0, 0}, {8, -1, -1, -1});
  for (const bool alternating : {false, true}) {
    INFO(alternating);
    dcgan::Architecture a = dcgan::make_architecture("libtorch", 16, 3);
    nn::Adam g_opt({.learning_rate = 1e-3, .beta1 = 0.5}), d_opt({.learning_rate = 1e-3, .beta1 = 0.5});
    const auto g0 = a.generator.trainable_variables()[0].value().to_vector<float>();
    const auto d0 = a.discriminator.trainable_variables()[0].value().to_vector<float>();
    tape::Generator noise(9);
    dcgan::StepOptions o;
    o.loss = dcgan::GanLoss::hinge;
    o.alternating = alternating;
    const dcgan::StepResult r = dcgan::train_step(a, g_opt, d_opt, real, noise, o);
    REQUIRE(a.generator.trainable_variables()[0].value().to_vector<float>() != g0);
    REQUIRE(a.discriminator.trainable_variables()[0].value().to_vector<float>() != d0);
    REQUIRE(g_opt.iterations() == 1);
    REQUIRE(d_opt.iterations() == 1);
    REQUIRE(r.d_loss_real >= 0.0);  // hinge terms are never negative
    REQUIRE(r.d_loss_fake >= 0.0);
    REQUIRE(std::isfinite(r.g_loss));
    REQUIRE(r.d_fake > 0.0);
    REQUIRE(r.d_fake < 1.0);
  }
  dcgan::StepOptions bad;
  bad.alternating = true;
  bad.balance = true;
  dcgan::Architecture a = dcgan::make_architecture("libtorch", 16, 3);
  nn::Adam g_opt, d_opt;
  tape::Generator noise(1);
  REQUIRE_THROWS_AS(dcgan::train_step(a, g_opt, d_opt, real, noise, bad), tape::ValueError);
}

TEST_CASE("the weight average (--ema) is what samples and eval use, and --raw gives the trained G", "[dcgan][ema]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 4;
  c.ema = 0.5;
  REQUIRE(dcgan::train(c) == 0);
  const std::string ckpt = out.file("run") + "/checkpoints/ckpt-00000004.safetensors";
  const auto file = nn::load_safetensors(ckpt);
  REQUIRE(file.tensors.count("generator_ema/generator/dense/kernel") == 1);
  const auto ema = file.tensors.at("generator_ema/generator/dense/kernel").to_vector<float>();
  const auto raw = file.tensors.at("generator/generator/dense/kernel").to_vector<float>();
  REQUIRE(ema != raw);
  dcgan::Architecture average = dcgan::load_generator(ckpt);
  REQUIRE(average.generator.trainable_variables()[0].value().to_vector<float>() == ema);
  dcgan::Architecture trained = dcgan::load_generator(ckpt, /*raw=*/true);
  REQUIRE(trained.generator.trainable_variables()[0].value().to_vector<float>() == raw);
}

TEST_CASE("training runs on Fashion-MNIST", "[dcgan][train][fashion]") {
  if (!fashion_mnist_installed()) {
    WARN("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist): not run");
    return;
  }
  TempDir out;
  dcgan::TrainConfig c = tiny_fashion_config(out.file("run"));
  REQUIRE(dcgan::train(c) == 0);
  REQUIRE(csv_rows(c.out + "/losses.csv").size() == 3);
}

TEST_CASE("training runs on synthetic CIFAR-10 files", "[dcgan][train][cifar]") {
  TempDir data, out;
  for (int b = 1; b <= 5; ++b) write_bytes(data.file("data_batch_" + std::to_string(b) + ".bin"), cifar_records(4));
  dcgan::TrainConfig c;
  c.dataset = "cifar10";
  c.arch = "cifar";
  c.data_dir = data.str();
  c.batch = 4;
  c.steps = 2;
  c.samples = 4;
  c.out = out.file("run");
  REQUIRE(dcgan::train(c) == 0);
  const tape::io::Image grid = tape::io::read_png(c.out + "/samples/epoch_0001.png");
  REQUIRE(grid.channels == 3);
  // A dataset whose images do not fit the architecture is refused with both shapes named.
  c.arch = "tf-tutorial";
  c.out = out.file("bad");
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("[28, 28, 1]") && Catch::Contains("[20, 32, 32, 3]"));
}

TEST_CASE("a run whose losses stop being finite stops before saving, and its last checkpoint stays loadable",
          "[dcgan][train][numerics]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 40;
  c.checkpoint_every = 1;
  c.lr = 1e30;  // the first update sends the weights far out; the losses overflow soon after
  std::string message;
  try {
    dcgan::train(c);
  } catch (const tape::NumericsError& e) {
    message = e.what();
  }
  INFO(message);
  REQUIRE_THAT(message, Catch::Contains("are not finite") && Catch::Contains("is intact") && Catch::Contains("--resume"));
  const auto step = std::stoll(message.substr(message.find("losses of step ") + 15));
  REQUIRE(step >= 2);
  // Saved up to the step before, not the failing one; that checkpoint loads.
  const nn::CheckpointManager checkpoints(out.file("run") + "/checkpoints");
  const std::string last = checkpoints.path(step - 1);
  REQUIRE(fs::exists(last));
  REQUIRE_FALSE(fs::exists(checkpoints.path(step)));
  REQUIRE_NOTHROW(dcgan::load_generator(last));
  // With --check-numerics the op that made the first non-finite value is named instead.
  c.check_numerics = true;
  c.out = out.file("anomaly");
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("check_numerics: "));
  REQUIRE_FALSE(tape::check_numerics());  // the mode ends with the run
}

TEST_CASE("noise priors: normal, uniform in [-1, 1], truncated within 2 sigma, and the checkpoint keeps the prior",
          "[dcgan][noise]") {
  tape::Generator gen(3);
  const auto uniform = dcgan::draw_noise(dcgan::NoisePrior::uniform, 500, 10, gen).to_vector<float>();
  REQUIRE(*std::min_element(uniform.begin(), uniform.end()) >= -1.0f);
  REQUIRE(*std::max_element(uniform.begin(), uniform.end()) <= 1.0f);
  REQUIRE(*std::min_element(uniform.begin(), uniform.end()) < -0.99f);
  const auto truncated = dcgan::draw_noise(dcgan::NoisePrior::truncated, 500, 10, gen).to_vector<float>();
  REQUIRE(*std::max_element(truncated.begin(), truncated.end()) <= 2.0f);
  REQUIRE(*std::min_element(truncated.begin(), truncated.end()) >= -2.0f);
  tape::Generator a(5), b(5);
  REQUIRE(dcgan::draw_noise(dcgan::NoisePrior::normal, 4, 3, a).to_vector<float>() ==
          tape::Tensor::normal({4, 3}, b).to_vector<float>());
  REQUIRE_THROWS_WITH(dcgan::noise_prior_of("gauss"), Catch::Contains("normal, uniform, truncated"));
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 2;
  c.noise = "uniform";
  REQUIRE(dcgan::train(c) == 0);
  const std::string ckpt = out.file("run") + "/checkpoints/ckpt-00000002.safetensors";
  REQUIRE(dcgan::load_generator(ckpt).noise == dcgan::NoisePrior::uniform);
  REQUIRE_THROWS_WITH(dcgan::sample(ckpt, 4, {.truncation = 1.0}, out.file("t.idx")),
                      Catch::Contains("needs the normal noise prior") && Catch::Contains("uniform"));
  REQUIRE_NOTHROW(dcgan::sample(ckpt, 4, {}, out.file("u.idx")));
}

TEST_CASE("a checkpoint that does not fit on the disk stops the run, naming the file, and the previous one stays",
          "[dcgan][train][disk-full]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 2;
  REQUIRE(dcgan::train(c) == 0);
  const std::string kept = out.file("run") + "/checkpoints/ckpt-00000002.safetensors";
  const auto size = fs::file_size(kept);
  c.steps = 4;
  c.resume = true;
  {
    test::FileSizeLimit limit(size / 2);  // losses.csv rows still fit; a checkpoint does not
    REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("ckpt-00000004.safetensors") && Catch::Contains("File too large"));
  }
  REQUIRE(fs::file_size(kept) == size);
  REQUIRE_NOTHROW(dcgan::load_generator(kept));
  for (const auto& e : fs::directory_iterator(out.file("run") + "/checkpoints"))
    REQUIRE(e.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("a checkpoint's resume position is read strictly: a field that is not a count is an IOError naming it",
          "[resume]") {
  const std::map<std::string, std::string> good{{"step", "1200"}, {"epoch", "2"}, {"image_in_epoch", "640"},
                                                {"last_losses", "0x1p-1,0x1p-2,0x1p+0"}};
  const dcgan::ResumePosition p = dcgan::resume_position(good, "c.safetensors", "no-such-config.json", 64);
  REQUIRE(p.step == 1200);
  REQUIRE(p.epoch == 2);
  REQUIRE(p.image_in_epoch == 640);
  REQUIRE(p.last.has_value());
  REQUIRE(p.last->d_loss_fake == 0.25);
  for (const char* bad : {"", "12x", "-3", " 5", "+5", "99999999999999999999", "1e3"}) {
    auto meta = good;
    meta["epoch"] = bad;
    REQUIRE_THROWS_WITH(dcgan::resume_position(meta, "c.safetensors", "no-such-config.json", 64),
                        Catch::Contains("c.safetensors") && Catch::Contains("'epoch'") && Catch::Contains(bad));
  }
  auto missing = good;
  missing.erase("step");
  REQUIRE_THROWS_AS(dcgan::resume_position(missing, "c.safetensors", "no-such-config.json", 64), tape::IOError);
  // Checkpoints from before image_in_epoch: the batch within the epoch times the run's batch,
  // and a count whose product would overflow is refused.
  auto old = good;
  old.erase("image_in_epoch");
  old["batch_in_epoch"] = "10";
  REQUIRE(dcgan::resume_position(old, "c.safetensors", "no-such-config.json", 64).image_in_epoch == 640);
  old["batch_in_epoch"] = "4611686018427387904";
  REQUIRE_THROWS_AS(dcgan::resume_position(old, "c.safetensors", "no-such-config.json", 64), tape::IOError);
}

TEST_CASE("a checkpoint whose z_dim is not a count, or too large, is refused before anything is built", "[resume]") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  for (const char* z : {"abc", "100000", "-1"}) {
    nn::save_safetensors(path, {{}, {{"arch", "mnist-fast"}, {"z_dim", z}}});
    REQUIRE_THROWS_WITH(dcgan::load_generator(path), Catch::Contains("'z_dim'") && Catch::Contains(z));
  }
}

TEST_CASE("alternating-fresh: D's step on G(z), then G's on a fresh G(z') through the updated D, bit for bit",
          "[dcgan][train]") {
  TempDir data;
  write_tiny_mnist(data, 16);
  const tape::data::Dataset ds = tape::data::load_mnist(data.str(), true, false);
  const tape::Tensor real = tape::slice(ds.images, {0, 0, 0, 0}, {8, -1, -1, -1});
  // Every variable (moving statistics too) by name; the first that differs is named.
  auto require_same_weights = [](dcgan::Architecture& x, dcgan::Architecture& y) {
    for (auto [mx, my] : {std::pair{&x.generator, &y.generator}, std::pair{&x.discriminator, &y.discriminator}}) {
      const auto vx = mx->named_variables(), vy = my->named_variables();
      REQUIRE(vx.size() == vy.size());
      for (std::size_t i = 0; i < vx.size(); ++i) {
        INFO(vx[i].name);
        REQUIRE(vx[i].variable.value().to_vector<float>() == vy[i].variable.value().to_vector<float>());
      }
    }
  };
  const nn::AdamOptions adam{.learning_rate = 1e-3, .beta1 = 0.5};
  dcgan::Architecture a = dcgan::make_architecture("tf-gan", 16, 3);
  nn::Adam ga(adam), da(adam);
  tape::Generator na(9);
  dcgan::StepOptions o;
  o.alternating = true;
  o.fresh_noise = true;
  dcgan::train_step(a, ga, da, real, na, o);

  // The same step written out: D on real and a constant G(z), then G through the updated D on G(z').
  dcgan::Architecture b = dcgan::make_architecture("tf-gan", 16, 3);
  nn::Adam gb(adam), db(adam);
  tape::Generator nb(9);
  tape::Tensor fake;
  {
    tape::NoRecord constant;
    fake = b.generator(b.sample_noise(8, nb), true);
  }
  {
    tape::GradientTape d_tape;
    const tape::Tensor real_logits = b.discriminator(real, true);  // real first: BatchNorm's moving statistics see the order
    const tape::Tensor fake_logits = b.discriminator(fake, true);
    const nn::GanLossTerms t = nn::gan_losses(nn::GanLoss::bce, real_logits, fake_logits);
    const auto d_vars = b.discriminator.trainable_variables();
    db.apply_gradients(d_tape.gradient(t.d_real + t.d_fake, d_vars), d_vars);
  }
  {
    tape::GradientTape g_tape;
    const tape::Tensor g_loss = nn::generator_loss(nn::GanLoss::bce, b.discriminator(b.generator(b.sample_noise(8, nb), true), true));
    const auto g_vars = b.generator.trainable_variables();
    gb.apply_gradients(g_tape.gradient(g_loss, g_vars), g_vars);
  }
  require_same_weights(a, b);
  REQUIRE(na.state() == nb.state());  // two noise draws

  // Plain alternating reuses G(z) for G's step: a different G.
  dcgan::Architecture c = dcgan::make_architecture("tf-gan", 16, 3);
  nn::Adam gc(adam), dc(adam);
  tape::Generator nc(9);
  o.fresh_noise = false;
  dcgan::train_step(c, gc, dc, real, nc, o);
  REQUIRE(c.generator.trainable_variables()[0].value().to_vector<float>() !=
          a.generator.trainable_variables()[0].value().to_vector<float>());
}

TEST_CASE("a run's config.json gives its batch only as an integer in range, else the fallback", "[resume]") {
  TempDir dir;
  const std::string path = dir.file("config.json");
  auto batch_of = [&](const std::string& text) {
    std::ofstream(path) << text;
    return dcgan::batch_of_run_config(path, 64);
  };
  CHECK(batch_of(R"({"batch": 128, "arch": "mnist-fast"})") == 128);
  CHECK(batch_of(R"({"batch": 5.8e52})") == 64);  // a fuzz finding: a float cast to an integer
  CHECK(batch_of(R"({"batch": 18446744073709551615})") == 64);
  CHECK(batch_of(R"({"batch": "128"})") == 64);
  CHECK(batch_of(R"([1, 2])") == 64);
  CHECK(batch_of("not json") == 64);
  CHECK(dcgan::batch_of_run_config(dir.file("missing.json"), 32) == 32);
}

TEST_CASE("seed 004's gated loop: which runs happen, in order, each with its own Adam and fresh noise", "[dcgan][train][gated]") {
  TempDir data;
  write_tiny_mnist(data, 16);
  const tape::data::Dataset ds = tape::data::load_mnist(data.str(), true, false);
  dcgan::Architecture probe = dcgan::make_architecture("feziodoshi", 16, 3);
  const tape::Tensor real = probe.from_signed(tape::slice(ds.images, {0, 0, 0, 0}, {4, -1, -1, -1}));
  const nn::AdamOptions adam{.learning_rate = 1e-4, .beta1 = 0.9};
  dcgan::StepOptions o;
  o.real_label = 0.9;
  auto losses = [](double d_real, double d_fake, double g) {
    dcgan::StepResult r;
    r.d_loss_real = d_real;
    r.d_loss_fake = d_fake;
    r.g_loss = g;
    return r;
  };
  // Latest losses below every threshold: no run, nothing drawn, the losses kept.
  {
    dcgan::Architecture a = dcgan::make_architecture("feziodoshi", 16, 3);
    nn::Adam g(adam), df(adam), dr(adam);
    tape::Generator noise(5);
    dcgan::GatedUpdates done;
    const dcgan::StepResult r = dcgan::gated_step(a, g, df, dr, real, noise, o, losses(0.4, 0.5, 0.4), &done);
    REQUIRE((!done.d_fake && !done.g && !done.d_real));
    REQUIRE(noise.state() == tape::Generator(5).state());
    REQUIRE(r.g_loss == 0.4);
    REQUIRE((g.iterations() == 0 && df.iterations() == 0 && dr.iterations() == 0));
  }
  // The seed's start (g 0, d 1 and 1): D on fakes first; then each decision from the run before.
  dcgan::Architecture a = dcgan::make_architecture("feziodoshi", 16, 3);
  nn::Adam g(adam), df(adam), dr(adam);
  tape::Generator noise(5);
  dcgan::GatedUpdates done;
  const dcgan::StepResult r = dcgan::gated_step(a, g, df, dr, real, noise, o, losses(1.0, 1.0, 0.0), &done);
  REQUIRE(done.d_fake);
  REQUIRE(df.iterations() == 1);
  REQUIRE(g.iterations() == (done.g ? 1 : 0));
  REQUIRE(dr.iterations() == (done.d_real ? 1 : 0));
  REQUIRE(r.d_updated);
  REQUIRE(r.g_updated == done.g);

  // The same written out: each run draws z, evaluates the three losses, then updates one part.
  dcgan::Architecture b = dcgan::make_architecture("feziodoshi", 16, 3);
  nn::Adam gb(adam), dfb(adam), drb(adam);
  tape::Generator nb(5);
  auto run = [&](int part) {
    tape::GradientTape t;
    const tape::Tensor fake = b.generator(b.sample_noise(4, nb), true);
    const nn::GanLossTerms l = nn::gan_losses(nn::GanLoss::bce, b.discriminator(real, true), b.discriminator(fake, true), 0.9);
    const auto vars = part == 1 ? b.generator.trainable_variables() : b.discriminator.trainable_variables();
    (part == 1 ? gb : part == 0 ? dfb : drb)
        .apply_gradients(t.gradient(part == 1 ? l.g : part == 0 ? l.d_fake : l.d_real, vars), vars);
    return losses(l.d_real.item(), l.d_fake.item(), l.g.item());
  };
  dcgan::StepResult latest = run(0);
  if (latest.g_loss > 0.5) latest = run(1);
  REQUIRE(done.g == (gb.iterations() == 1));
  if (latest.d_loss_real > 0.45) latest = run(2);
  REQUIRE(done.d_real == (drb.iterations() == 1));
  REQUIRE(latest.d_loss_real == r.d_loss_real);  // the last run's losses, exactly
  REQUIRE(latest.d_loss_fake == r.d_loss_fake);
  REQUIRE(latest.g_loss == r.g_loss);
  REQUIRE(noise.state() == nb.state());
  for (auto [x, y] : {std::pair{&a.generator, &b.generator}, std::pair{&a.discriminator, &b.discriminator}}) {
    const auto vx = x->trainable_variables(), vy = y->trainable_variables();
    for (std::size_t i = 0; i < vx.size(); ++i) REQUIRE(vx[i].value().to_vector<float>() == vy[i].value().to_vector<float>());
  }
}

TEST_CASE("seed 004 trains in [0, 1]: its preset runs, checkpoints both D optimizers and resumes bit for bit",
          "[dcgan][train][gated]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.arch = "feziodoshi";
  c.updates = "gated";
  c.noise = "truncated";
  c.real_label = 0.9;
  c.lr = 1e-4;
  c.beta1 = 0.9;
  c.tensorboard = true;
  c.tensorboard_every = 2;
  REQUIRE(dcgan::train(c) == 0);
  const std::string last = out.file("run") + "/checkpoints/ckpt-00000006.safetensors";
  const nn::TensorFile f = nn::load_safetensors(last);
  REQUIRE(f.metadata.at("data_range") == "0,1");
  REQUIRE(f.metadata.count("discriminator_real/optimizer/iterations") == 1);
  REQUIRE(f.tensors.count("discriminator_real/discriminator/dense/kernel") == 0);  // D's weights once
  // Generated images come back in [-1, 1] for pictures and metrics.
  dcgan::Architecture g = dcgan::load_generator(last, false);
  REQUIRE(g.range == dcgan::DataRange::unit);
  const tape::Tensor images = dcgan::generate_images(g, 8, {});
  for (const float v : images.to_vector<float>()) REQUIRE((v >= -1.0f && v <= 1.0f));

  // Interrupted at step 3 and resumed: the uninterrupted run's last checkpoint.
  dcgan::TrainConfig first = c;
  first.out = out.file("resumed");
  first.keep_going = [](std::int64_t step) { return step < 3; };
  REQUIRE(dcgan::train(first) == 0);
  dcgan::TrainConfig rest = c;
  rest.out = out.file("resumed");
  rest.resume = true;
  REQUIRE(dcgan::train(rest) == 0);
  require_same_tensors(last, out.file("resumed") + "/checkpoints/ckpt-00000006.safetensors");

  // A tanh architecture asked for [0, 1] maps G's output by x / 2 + 1/2.
  dcgan::Architecture k = dcgan::make_architecture("keras-small", 100, 1, dcgan::DataRange::unit);
  REQUIRE(k.range == dcgan::DataRange::unit);
  REQUIRE(k.generator.count_params() == 840705);
  tape::Generator gen(1);
  for (const float v : k.generator(k.sample_noise(4, gen), false).to_vector<float>()) REQUIRE((v >= 0.0f && v <= 1.0f));
  REQUIRE_THROWS_WITH(dcgan::data_range_of("0,255"), Catch::Contains("0,255") && Catch::Contains("-1,1"));
}

TEST_CASE("dcgan interpolate writes a looping GIF of points x steps frames, and slerp keeps the norm between points",
          "[dcgan][interpolate]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 2;
  REQUIRE(dcgan::train(c) == 0);
  dcgan::InterpolateOptions o;
  o.checkpoint = out.file("run") + "/checkpoints/ckpt-00000002.safetensors";
  o.out = out.file("walk.gif");
  o.cells = 4;
  o.points = 3;
  o.steps = 2;
  REQUIRE(dcgan::interpolate(o) == 6);
  int error = 0;
  GifFileType* gif = DGifOpenFileName(o.out.c_str(), &error);
  REQUIRE(gif != nullptr);
  REQUIRE(DGifSlurp(gif) == GIF_OK);
  CHECK(gif->ImageCount == 6);
  CHECK(gif->SWidth == tape::io::make_grid(tape::Tensor::full({4, 28, 28, 1}, 0.0), 2, 2, 2).width);  // 2 x 2 tiles
  DGifCloseFile(gif, &error);
  o.points = 1;
  REQUIRE_THROWS_WITH(dcgan::interpolate(o), Catch::Contains("2-64 points"));

  // Slerp between two vectors of equal norm stays on that sphere; linear cuts inside it.
  const tape::Tensor a = tape::Tensor::from_vector(std::vector<double>{3.0, 0.0, 0.0, 0.0, 3.0, 0.0}, tape::Shape{2, 3});
  const tape::Tensor b = tape::Tensor::from_vector(std::vector<double>{0.0, 3.0, 0.0, 0.0, 0.0, 3.0}, tape::Shape{2, 3});
  const auto mid = dcgan::interpolate_noise(a, b, 0.5, false).to_vector<double>();
  CHECK(std::hypot(mid[0], mid[1], mid[2]) == Approx(3.0));
  CHECK(dcgan::interpolate_noise(a, b, 0.5, true).to_vector<double>()[0] == Approx(1.5));
  CHECK(dcgan::interpolate_noise(a, b, 0.0, false).to_vector<double>() == a.to_vector<double>());
}

TEST_CASE("keep_partial_batch: each epoch ends with the images left, and --epochs counts those steps", "[dcgan][train]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.steps = 0;
  c.epochs = 2;
  c.batch = 6;
  c.keep_partial_batch = true;  // 16 images: batches of 6, 6 and 4
  REQUIRE(dcgan::train(c) == 0);
  const auto rows = csv_rows(c.out + "/losses.csv");
  REQUIRE(rows.size() == 1 + 6);
  REQUIRE(std::filesystem::exists(c.out + "/samples/epoch_0002.png"));
  REQUIRE(nn::load_safetensors(c.out + "/checkpoints/ckpt-00000006.safetensors").metadata.at("epoch") == "2");
}
