// Checkpoints in the safetensors format (8-byte little-endian header length, JSON header, raw
// little-endian data) so that any safetensors reader can open them. Written to a temporary file,
// flushed and renamed into place; verified on load, leaving the model untouched on any error.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tape/nn/module.h"
#include "tape/nn/optimizers.h"

namespace tape::nn {

// Extra state saved beside the model: the step and any generators (their full state).
struct CheckpointExtras {
  std::map<std::string, std::string> metadata;            // free-form strings in __metadata__
  std::vector<std::pair<std::string, Generator*>> generators;
};

// A plain tensor file: name -> tensor, plus string metadata.
struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Writes `file` atomically (temporary + fsync + rename). Throws IOError naming the path.
void save_safetensors(const std::string& path, const TensorFile& file);
// Reads and fully verifies a safetensors file. Throws IOError naming the path and the tensor.
TensorFile load_safetensors(const std::string& path);

// Saves a model's variables (by hierarchical name, under "model/"), optionally an optimizer's
// state (under "model/optimizer/"), the generators' states and metadata (the layout is described
// at the top of checkpoint.cpp). Layer names are numbered per model (Module::name()), so the keys
// are the same for every model built alike, in any process. Throws IOError naming the path when writing fails, ValueError for
// bad arguments (a null model or generator, a repeated name or metadata key).
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const CheckpointExtras& extras = {});
// Several models and optimizers in one file, each under its own prefix ("generator", ...).
// variables = false: the optimizer's state alone, its slots named by `model`'s variables (a
// second optimizer over a model that another entry saves, as seed 004's two Adams over D).
struct CheckpointEntry {
  std::string prefix;
  const Module* model = nullptr;
  const Optimizer* optimizer = nullptr;
  bool variables = true;
};
void save_checkpoint(const std::string& path, const std::vector<CheckpointEntry>& entries,
                     const CheckpointExtras& extras = {});

// Loads into a built model (and optimizer): every variable must be present with the same shape
// and dtype. Nothing is changed unless the whole file verifies. Returns the metadata (generator
// states under the names asked for). Files from releases that numbered layer names per process
// ("discriminator/dense_2/kernel" for a discriminator's first Dense) load too: where a model's
// keys are not all in the file, the numbers of each default name under its prefix, ascending,
// are read as 0, 1, 2, ... (likewise "rng/<model>/..." generator states; see checkpoint.cpp).
std::map<std::string, std::string> load_checkpoint(const std::string& path, Module& model,
                                                   Optimizer* optimizer = nullptr,
                                                   const std::vector<std::pair<std::string, Generator*>>& generators = {});
struct CheckpointTarget {
  std::string prefix;
  Module* model = nullptr;
  Optimizer* optimizer = nullptr;
  bool variables = true;  // false: only the optimizer's state (CheckpointEntry::variables)
};
std::map<std::string, std::string> load_checkpoint(const std::string& path,
                                                   const std::vector<CheckpointTarget>& targets,
                                                   const std::vector<std::pair<std::string, Generator*>>& generators = {});

}  // namespace tape::nn
