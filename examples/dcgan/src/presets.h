// Presets: named recipes for `dcgan train`, each a list of command-line words that set the
// architecture, hyperparameters and update mode together. The words go before the user's own,
// so any option given on the command line wins over the preset's.
#pragma once
#include <string>
#include <vector>

namespace dcgan {

struct Preset {
  std::string name;
  std::string description;
  std::vector<std::string> args;  // e.g. {"--arch", "libtorch", "--batch", "64"}
};

// Every preset, the default first.
const std::vector<Preset>& presets();
// Throws tape::ValueError naming the unknown preset and the known ones.
const Preset& find_preset(const std::string& name);
// The preset `train` uses when the command line names neither --preset nor --arch: the default
// for MNIST-sized data sets, "cifar" for CIFAR-10.
const Preset& default_preset(const std::string& dataset);

// The words of a `dcgan train` command line (without "dcgan train") with its preset's words put
// in front: the named --preset, or the default one when neither --preset nor --arch is given.
// --epochs and --steps exclude each other: a preset's one is dropped when the user gives the other.
std::vector<std::string> expand_preset(const std::vector<std::string>& train_args);

}  // namespace dcgan
