// The DCGAN trainer: the TF tutorial's step (one forward pass, two tapes), the seeds' options
// (one-sided label smoothing, loss-balanced updates), and everything a run leaves behind:
// config.json, sample grids, progress.gif, losses.csv/png, checkpoints, TensorBoard events.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <tape/nn/nn.h>

#include "architectures.h"

namespace dcgan {

struct TrainConfig {
  std::string dataset = "mnist";  // mnist | fashion-mnist | cifar10
  std::string data_dir;           // default per dataset
  bool verify_checksums = true;   // MNIST's published sha256 (off for IDX files of your own)
  std::string arch = "tf-tutorial";
  std::int64_t epochs = 0;        // 0 with steps = 0: 1 epoch
  std::int64_t steps = 0;         // total training steps (overrides epochs)
  std::int64_t batch = 128;
  double lr = 2e-4;
  double beta1 = 0.5;
  std::int64_t z_dim = 100;
  std::uint64_t seed = 1;
  std::string out = "runs/dcgan";
  bool resume = false;
  int threads = 0;                // 0: all cores
  double real_label = 1.0;        // one-sided label smoothing: the target for real images
  bool balance = false;           // seed 004's loss-balanced updates
  int digit = -1;                 // keep one class only
  std::int64_t sample_every = 0;  // extra sample grids every N steps (0: per epoch only)
  std::int64_t checkpoint_every = 500;
  int keep_checkpoints = 3;
  bool tensorboard = false;
  std::int64_t tensorboard_every = 100;
  int samples = 16;               // fixed-noise images in each grid
  std::int64_t log_every = 50;    // plain progress lines when stdout is not a terminal
  std::int64_t max_images = 0;    // use only the first N training images (0: all)
  // Called after every step with the step number; returning false stops the run the way Ctrl-C
  // does (checkpoint saved, clean exit). For programs embedding the trainer, and for tests.
  std::function<bool(std::int64_t)> keep_going;
};

// Losses and discriminator outputs of one training step.
struct StepResult {
  double d_loss_real = 0, d_loss_fake = 0, g_loss = 0;
  double d_real = 0, d_fake = 0;  // mean D(x), mean D(G(z)) as probabilities
  bool d_updated = true, g_updated = true;
};

struct StepOptions {
  double real_label = 1.0;
  bool balance = false;
  // Balanced mode: which updates the previous step's losses allow (seed 004's thresholds).
  bool train_d_real = true, train_d_fake = true, train_g = true;
};

// One step: z ~ N(0, 1); G and D forward under two tapes; D loss = BCE(real_label, D(x)) +
// BCE(0, D(G(z))); G loss = BCE(1, D(G(z))); both Adam steps. real[B, H, W, C] in [-1, 1].
StepResult train_step(Architecture& arch, tape::nn::Adam& g_opt, tape::nn::Adam& d_opt, const tape::Tensor& real,
                      tape::Generator& noise_gen, const StepOptions& options);

// Runs a whole training job; returns the process exit code (0 also after Ctrl-C, with a
// checkpoint saved). Throws on bad configuration or data.
int train(const TrainConfig& config);

// dcgan render: progress.gif and losses.png of a run folder, made again from its files.
void render(const std::string& out_dir);

// dcgan sample: a grid of n images from a checkpoint's generator.
// batch_statistics: BatchNorm normalizes with the batch's own statistics instead of the moving
// averages (the generator run as in training, without updating anything).
void sample(const std::string& checkpoint, int n, std::uint64_t seed, const std::string& out_png,
            bool batch_statistics = false);

}  // namespace dcgan
