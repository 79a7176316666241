// The preset table and the expansion of --preset into command-line words.
#include "presets.h"

#include <algorithm>

#include <tape/tape.h>

namespace dcgan {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> table{
      {"fast", "the best-balanced recipe measured for 15 minutes of 2 cores: mnist-fast, Adam 2e-3, 5,000 steps of 64 "
               "then 3,000 of 128, weight average 0.999, real labels smoothed to 0.9; add --codes 10 for cleaner "
               "digits with less variety (docs/results.md)",
       {"--arch", "mnist-fast", "--batch", "64", "--batch-from", "5000:128", "--lr", "2e-3", "--steps", "8000",
        "--ema", "0.999", "--label-smoothing", "0.9", "--checkpoint-every", "500", "--keep-checkpoints", "20"}},
      {"hour", "MNIST's one-hour recipe (an hour of a 2-core Xeon, about half of one on a Zen 5): fast with InfoGAN's "
               "10-valued code, 20,000 steps, batches of 64, of 128 from step 5,000 and of 256 from 12,000 "
               "(docs/results.md)",
       {"--arch", "mnist-fast", "--batch", "64", "--batch-from", "5000:128,12000:256", "--lr", "2e-3", "--steps", "20000",
        "--ema", "0.999", "--label-smoothing", "0.9", "--codes", "10", "--checkpoint-every", "1000",
        "--keep-checkpoints", "20"}},
      {"tf-tutorial", "TensorFlow's DCGAN tutorial (seed 000): Adam 1e-4 (beta1 0.9), batch 256 with each epoch's last "
                      "partial batch, 50 epochs",
       {"--arch", "tf-tutorial", "--batch", "256", "--keep-partial-batch=true", "--lr", "1e-4", "--beta1", "0.9",
        "--epochs", "50"}},
      {"keras-small", "DCGAN-Keras (seed 002), 3,000 steps of 64 with a weight average",
       {"--arch", "keras-small", "--batch", "64", "--steps", "3000", "--ema", "0.999"}},
      {"vstark21", "vstark21/DCGANs on digits (seed 001): Adam 1e-4 (beta1 0.9), batch 256 with each epoch's last "
                   "partial batch, 100 epochs",
       {"--arch", "vstark21", "--batch", "256", "--keep-partial-batch=true", "--lr", "1e-4", "--beta1", "0.9", "--epochs",
        "100"}},
      {"dcgan-keras", "elvinaqa/DCGAN-Keras (seed 002) as written: the digit 0 only, batch 32, Keras' Adam (1e-3, "
                      "beta1 0.9), D's step then G's on fresh noise, 20 epochs",
       {"--arch", "keras-small", "--digit", "0", "--batch", "32", "--lr", "1e-3", "--beta1", "0.9", "--updates",
        "alternating-fresh", "--epochs", "20"}},
      {"tf-gan", "mshenron/TF-GAN (seed 003): batch 64 of all 70,000 images, Adam 1e-3 beta1 0.5, z ~ U(-1, 1), "
                 "D's step then G's on fresh noise, 7x7 grids every 100 steps, checkpoints every 1,000, 200 epochs",
       {"--arch", "tf-gan", "--batch", "64", "--split", "train+test", "--lr", "1e-3", "--beta1", "0.5", "--noise", "uniform",
        "--updates", "alternating-fresh", "--samples", "49", "--sample-every", "100", "--checkpoint-every", "1000",
        "--epochs", "200"}},
      {"libtorch", "PyTorch's C++ DCGAN example: batch 64, Adam 2e-4, beta1 0.5", {"--arch", "libtorch", "--batch", "64"}},
      {"feziodoshi", "feziodoshi/Deep-Convolutional-GAN (seed 004): pixels in [0, 1], batch 50, truncated-normal noise, "
                     "label 0.9 for real, three Adam(1e-4) gated by the losses 0.6 / 0.5 / 0.45, TensorBoard every 10 "
                     "steps with 'Fake Evaluation' and 10 images, checkpoints every 5,000, 200,000 iterations",
       {"--arch", "feziodoshi", "--data-range", "0,1", "--batch", "50", "--lr", "1e-4", "--beta1", "0.9", "--noise",
        "truncated", "--label-smoothing", "0.9", "--updates", "gated", "--tensorboard=true", "--tensorboard-every", "10",
        "--samples", "10", "--checkpoint-every", "5000", "--steps", "200000"}},
      {"cifar", "vstark21/DCGANs on CIFAR-10 (seed 001): Adam 2e-4 (beta1 0.5), batch 128 with each epoch's last partial "
                "batch, 100 epochs",
       {"--dataset", "cifar10", "--arch", "cifar", "--batch", "128", "--keep-partial-batch=true", "--lr", "2e-4", "--beta1",
        "0.5", "--epochs", "100"}},
  };
  return table;
}

const Preset& find_preset(const std::string& name) {
  const auto& table = presets();
  auto it = std::find_if(table.begin(), table.end(), [&](const Preset& p) { return p.name == name; });
  if (it == table.end()) {
    std::string known;
    for (const Preset& p : table) {
      if (!known.empty()) known += ", ";
      known += p.name;
    }
    throw tape::ValueError("unknown preset '" + name + "' (" + known + ")");
  }
  return *it;
}

const Preset& default_preset(const std::string& dataset) {
  return find_preset(dataset == "cifar10" ? "cifar" : presets().front().name);
}

namespace {

// The value of `--name VALUE` or `--name=VALUE` in args, or "" when absent (the last one wins).
std::string option_value(const std::vector<std::string>& args, const std::string& name, bool* present = nullptr) {
  std::string value;
  bool found = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) {
      value = args[i + 1];
      found = true;
    } else if (args[i].rfind(name + "=", 0) == 0) {
      value = args[i].substr(name.size() + 1);
      found = true;
    }
  }
  if (present) *present = found;
  return value;
}

bool has_option(const std::vector<std::string>& args, const std::string& name) {
  bool present = false;
  option_value(args, name, &present);
  return present || std::find(args.begin(), args.end(), name) != args.end();
}

}  // namespace

std::vector<std::string> expand_preset(const std::vector<std::string>& train_args) {
  const Preset* preset = nullptr;
  if (has_option(train_args, "--preset")) {
    preset = &find_preset(option_value(train_args, "--preset"));
  } else if (!has_option(train_args, "--arch")) {
    const std::string dataset = option_value(train_args, "--dataset");
    preset = &default_preset(dataset);
  }
  if (!preset) return train_args;
  std::vector<std::string> out{"--preset", preset->name};  // recorded in config.json
  // --epochs and --steps exclude each other: the user's one drops the preset's other.
  const bool user_epochs = has_option(train_args, "--epochs"), user_steps = has_option(train_args, "--steps");
  for (std::size_t i = 0; i < preset->args.size(); ++i) {
    if ((user_epochs && preset->args[i] == "--steps") || (user_steps && preset->args[i] == "--epochs")) {
      ++i;  // skip its value too
      continue;
    }
    out.push_back(preset->args[i]);
  }
  out.insert(out.end(), train_args.begin(), train_args.end());
  return out;
}

}  // namespace dcgan
