// Module: the base of every layer and model — named Variables, lazy build from the first input
// shape, a training flag per call, Keras-style names numbered per model, hierarchical variable
// names (the checkpoint keys) and the Keras summary table.
#pragma once
#include <concepts>
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
  // Runs a layer of several inputs (Concatenate, a Functional model, a Sequential whose first
  // layer takes several), built from the inputs' shapes on the first call. A layer of one input
  // takes a list of exactly one; any other count is a ValueError naming the layer.
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false);
  // Whether the layer takes `n` inputs (one, for most layers).
  virtual bool accepts_inputs(std::size_t n) const { return n == 1; }
  // Builds every variable for inputs of shape [batch, input_shape...] (batch excluded here) by a
  // forward pass with no tape, drawing initial values from `gen`.
  void build(const Shape& input_shape, Generator& gen);
  void build(const Shape& input_shape, std::uint64_t seed = 0);
  // The same for a layer of several inputs of shapes [batch, input_shapes[i]...].
  void build_inputs(const std::vector<Shape>& input_shapes, Generator& gen);
  bool built() const { return built_; }
  // Whether a call has completed (the variables then carry their full hierarchical names).
  bool called() const { return called_; }

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

  // This layer then `next` on x as one fused op, when the pair has one (LeakyReLU then Dropout
  // while training: tape::leaky_relu_dropout), with both layers built and called as operator()
  // would: the same numbers as next(this(x)) in fewer passes over memory. An undefined Tensor
  // when the pair has none. Sequential asks each pair of neighbours before calling them.
  virtual Tensor call_fused(Module& next, const Tensor& x, bool training);
  // For call_fused: runs `run` as this layer's call on x (building it on the first call and
  // noting the call and its output shape as operator() does) and returns run's result.
  Tensor call_with(const Tensor& x, const std::function<Tensor()>& run);

 protected:
  // The computation; children are called through their operator().
  virtual Tensor call(const Tensor& x, bool training) = 0;
  // The computation of a layer of several inputs (accepts_inputs(inputs.size()) holds); the
  // default is call(inputs[0]).
  virtual Tensor call_inputs(const std::vector<Tensor>& inputs, bool training) { return call(inputs.at(0), training); }
  // Creates this module's own variables for inputs of shape [batch, ...] (full shape) and dtype.
  virtual void build_variables(const Shape& input_shape, DType dtype) {
    (void)input_shape;
    (void)dtype;
  }
  // The same for a layer of several inputs, from all their shapes; the default takes the first's.
  virtual void build_variables_for(const std::vector<Shape>& input_shapes, DType dtype) {
    build_variables(input_shapes.at(0), dtype);
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
  // operator()'s work for either form: `build` on the first call, then `run`.
  template <class Build, class Run>
  Tensor run_call(Build build, Run run);
  void check_input_count(std::size_t n) const;
  void collect(const std::string& prefix, std::vector<NamedVariable>& out) const;
  void rename(const std::string& prefix);
  std::string default_name_;
  mutable std::string name_;
  bool built_ = false;
  bool called_ = false;
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
  const std::vector<std::shared_ptr<Module>>& layers() const { return layers_; }

  std::string type_name() const override { return "Sequential"; }
  std::vector<Module*> children() override;
  // A Sequential takes what its first layer takes.
  bool accepts_inputs(std::size_t n) const override { return layers_.empty() ? n == 1 : layers_[0]->accepts_inputs(n); }

 protected:
  Tensor call(const Tensor& x, bool training) override;
  // inputs to the first layer, its output through the rest.
  Tensor call_inputs(const std::vector<Tensor>& inputs, bool training) override;

 private:
  Sequential(std::string name, int) : Module("sequential", std::move(name)) {}
  // y through layers_[first, ...), each pair with a fused op (call_fused) as that op.
  Tensor run_layers(Tensor y, std::size_t first, bool training);
  std::vector<std::shared_ptr<Module>> layers_;
};

// A model as a graph of layers (Keras' functional API): inputs declared in call order, layers
// applied to earlier nodes (several inputs for layers that take them: Concatenate, another
// Functional), one output. A layer applied twice shares its weights. Layers are named and checkpoint
// keys are formed as in a Sequential, in the order of their first application.
//   nn::Functional g("generator");
//   const auto z = g.input(), label = g.input();
//   const auto e = g.apply(nn::Embedding(10, 50), label);
//   g.output(g.apply(nn::Dense(784, {.activation = nn::Activation::tanh}), g.apply(nn::Concatenate(), {z, e})));
//   Tensor images = g({z_batch, labels}, true);
class Functional : public Module {
 public:
  // A node of the graph: a model input or a layer's output.
  struct Node {
    std::size_t index = 0;
    std::uint64_t model = 0;  // the Functional model that made it
  };
  explicit Functional(std::string name = "");
  Node input();
  // A layer given by value is moved into the model; by shared_ptr it can be applied again (shared weights).
  Node apply(std::shared_ptr<Module> layer, const std::vector<Node>& inputs);
  Node apply(std::shared_ptr<Module> layer, Node x) { return apply(std::move(layer), std::vector<Node>{x}); }
  template <class L>
    requires std::derived_from<std::decay_t<L>, Module>
  Node apply(L&& layer, const std::vector<Node>& inputs) {
    return apply(std::shared_ptr<Module>(std::make_shared<std::decay_t<L>>(std::forward<L>(layer))), inputs);
  }
  template <class L>
    requires std::derived_from<std::decay_t<L>, Module>
  Node apply(L&& layer, Node x) {
    return apply(std::forward<L>(layer), std::vector<Node>{x});
  }
  // Every layer of `sequence` in turn from x (their names and keys as if they were this model's own).
  Node apply_each(Sequential& sequence, Node x);
  // The model's output. ValueError for a node of another model, and for inputs or layers added
  // after the model's first completed call.
  void output(Node out);
  std::size_t num_inputs() const { return num_inputs_; }

  std::string type_name() const override { return "Functional"; }
  std::vector<Module*> children() override;
  bool accepts_inputs(std::size_t n) const override { return n == num_inputs_; }

 protected:
  Tensor call(const Tensor& x, bool training) override { return call_inputs({x}, training); }
  Tensor call_inputs(const std::vector<Tensor>& inputs, bool training) override;

 private:
  struct Step {
    std::shared_ptr<Module> layer;  // null for a model input
    std::vector<std::size_t> inputs;
  };
  void check_node(Node n, const char* what) const;
  Node node(std::size_t index) const { return {index, id_}; }
  std::uint64_t id_;  // unique per model made (a moved model keeps it)
  std::vector<Step> steps_;  // one per node, in the order they were made
  std::vector<std::shared_ptr<Module>> layers_;  // each layer once, in order of first application
  std::size_t num_inputs_ = 0;
  std::optional<std::size_t> output_;
};

// A stable 64-bit seed from a name (FNV-1a), for generators seeded by layer names (which are
// numbered per model, so the seed does not depend on what else the process built).
std::uint64_t seed_from_name(const std::string& name);

// Formats n with thousands separators: 2330944 -> "2,330,944".
std::string format_count(std::int64_t n);

}  // namespace tape::nn
