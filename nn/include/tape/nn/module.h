// Module: the base of every layer and model — named Variables, lazy build from the first input
// shape, a training flag per call, Keras-style names numbered per model, hierarchical variable
// names (the checkpoint keys) and the Keras summary table.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tape/tape.h"

namespace tape::nn {

class Module;

// A variable with its hierarchical name ("generator/conv2d_transpose_1/kernel").
struct NamedVariable {
  std::string name;
  Variable variable;
};

// Weight initializer: (shape, dtype, generator) -> tensor.
using Initializer = std::function<Tensor(const Shape&, DType, Generator&)>;

class Module {
 public:
  // `name` empty: the module takes `default_name` ("dense"), numbered within its model (name()).
  Module(std::string default_name, std::string name);
  virtual ~Module() = default;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Runs the layer, building it from x's shape on the first call. `training` switches
  // BatchNorm to batch statistics and turns Dropout on.
  Tensor operator()(const Tensor& x, bool training = false);
  // Builds every variable for inputs of shape [batch, input_shape...] (batch excluded here) by a
  // forward pass with no tape, drawing initial values from `gen`.
  void build(const Shape& input_shape, Generator& gen);
  void build(const Shape& input_shape, std::uint64_t seed = 0);
  bool built() const { return built_; }

  // Every variable in this module and its children, with hierarchical names.
  std::vector<NamedVariable> named_variables() const;
  std::vector<Variable> variables() const;
  std::vector<Variable> trainable_variables() const;
  std::vector<Variable> non_trainable_variables() const;
  // Generators whose state belongs in a checkpoint (Dropout's), with hierarchical names.
  std::vector<std::pair<std::string, Generator*>> named_generators();
  std::int64_t count_params() const;

  // The layer's name: the one given, else a Keras-style default numbered per model. A model's
  // outermost call (or a question for its variables, generators, summary or name) names every
  // unnamed module in its tree, children before their parent in children() order (for Sequential,
  // layer order; a wrapper after the layer it wraps): each takes the first of "dense", "dense_1",
  // "dense_2", ... not yet taken in that tree. So models built alike get the same names (and
  // checkpoint keys) whatever else the process built. A name, once given, stays; a module asked
  // for its name before it is part of any run takes the plain default ("dense").
  const std::string& name() const;
  // The default name without a number: "dense", "conv2d_transpose", "sequential".
  const std::string& default_name() const { return default_name_; }
  // "Dense", "Conv2DTranspose", ...
  virtual std::string type_name() const = 0;
  // Direct children (composite modules override).
  virtual std::vector<Module*> children() { return {}; }
  std::vector<const Module*> children() const;
  // The output shape (batch excluded) seen on the last call; empty before the first call.
  const std::optional<Shape>& output_shape() const { return output_shape_; }

  // The Keras table: Layer (type), Output Shape, Param #, then total/trainable/non-trainable.
  void summary(std::ostream& os, int line_length = 65) const;

 protected:
  // The computation; children are called through their operator().
  virtual Tensor call(const Tensor& x, bool training) = 0;
  // Creates this module's own variables for inputs of shape [batch, ...] (full shape) and dtype.
  virtual void build_variables(const Shape& input_shape, DType dtype) {
    (void)input_shape;
    (void)dtype;
  }
  // Adds a variable owned by this module, initialized from the current build generator.
  Variable add_weight(const std::string& name, const Shape& shape, const Initializer& init, bool trainable = true,
                      DType dtype = DType::f32);
  // The generator initializers draw from while building.
  Generator& init_generator();
  // For wrappers (SpectralNorm): builds `child`'s variables for inputs of shape `input_shape`
  // (full shape) and `dtype` without calling it, so the wrapper can size its own; a built child
  // is left as it is. Initial values come from the build generator, as if the child ran first.
  static void build_child(Module& child, const Shape& input_shape, DType dtype);
  // Own generators for checkpoints (Dropout overrides).
  virtual std::vector<std::pair<std::string, Generator*>> own_generators() { return {}; }

 private:
  // Names every unnamed module of this tree (see name()).
  void assign_names() const;
  void collect(const std::string& prefix, std::vector<NamedVariable>& out) const;
  void rename(const std::string& prefix);
  std::string default_name_;
  mutable std::string name_;
  bool built_ = false;
  std::vector<std::pair<std::string, Variable>> weights_;
  std::optional<Shape> output_shape_;
  std::unique_ptr<Generator> fallback_gen_;
};

// Every module of type L in root's tree (root included), each parent before its children.
template <class L>
std::vector<L*> modules_of(Module& root) {
  std::vector<L*> out;
  const std::function<void(Module&)> visit = [&](Module& m) {
    if (auto* l = dynamic_cast<L*>(&m)) out.push_back(l);
    for (Module* child : m.children()) visit(*child);
  };
  visit(root);
  return out;
}

// Layers in order; each takes the previous one's output.
class Sequential : public Module {
 public:
  template <class... Layers>
  explicit Sequential(Layers&&... layers) : Module("sequential", "") {
    (add(std::forward<Layers>(layers)), ...);
  }
  template <class... Layers>
  static Sequential named(std::string name, Layers&&... layers) {
    Sequential s(std::move(name), 0);
    (s.add(std::forward<Layers>(layers)), ...);
    return s;
  }
  template <class L>
  void add(L&& layer) {
    layers_.push_back(std::make_shared<std::decay_t<L>>(std::forward<L>(layer)));
  }
  void add(std::shared_ptr<Module> layer) { layers_.push_back(std::move(layer)); }
  std::size_t size() const { return layers_.size(); }
  Module& operator[](std::size_t i) { return *layers_.at(i); }

  std::string type_name() const override { return "Sequential"; }
  std::vector<Module*> children() override;

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  Sequential(std::string name, int) : Module("sequential", std::move(name)) {}
  std::vector<std::shared_ptr<Module>> layers_;
};

// A stable 64-bit seed from a name (FNV-1a), for generators seeded by layer names (which are
// numbered per model, so the seed does not depend on what else the process built).
std::uint64_t seed_from_name(const std::string& name);

// Formats n with thousands separators: 2330944 -> "2,330,944".
std::string format_count(std::int64_t n);

}  // namespace tape::nn
