// Module: names numbered per model, lazy build, variable collection and renaming, Sequential,
// summary().
#include "tape/nn/module.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <sstream>

#include "numbered_names.h"

namespace tape::nn {
namespace {

thread_local Generator* t_init_generator = nullptr;
thread_local int t_call_depth = 0;

// Counts the module calls in progress on this thread; the outermost one is a model's own call.
class CallDepth {
 public:
  CallDepth() { ++t_call_depth; }
  ~CallDepth() { --t_call_depth; }
  CallDepth(const CallDepth&) = delete;
  CallDepth& operator=(const CallDepth&) = delete;
  bool outermost() const { return t_call_depth == 1; }
};

class InitScope {
 public:
  explicit InitScope(Generator& gen) : saved_(t_init_generator) { t_init_generator = &gen; }
  ~InitScope() { t_init_generator = saved_; }

 private:
  Generator* saved_;
};

Shape without_batch(const Shape& s) {
  return s.rank() == 0 ? s : Shape(std::vector<std::int64_t>(s.dims().begin() + 1, s.dims().end()));
}

// m's tree, children before their parent, in children() order.
void post_order(const Module& m, std::vector<const Module*>& out) {
  for (const Module* c : m.children()) post_order(*c, out);
  out.push_back(&m);
}

}  // namespace

std::uint64_t seed_from_name(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Module::Module(std::string default_name, std::string name)
    : default_name_(std::move(default_name)), name_(std::move(name)) {}

const std::string& Module::name() const {
  if (name_.empty()) assign_names();
  return name_;
}

void Module::assign_names() const {
  std::vector<const Module*> order;
  post_order(*this, order);
  if (std::none_of(order.begin(), order.end(), [](const Module* m) { return m->name_.empty(); })) return;
  std::set<std::string> taken;
  for (const Module* m : order) {
    if (!m->name_.empty()) taken.insert(m->name_);
  }
  std::map<std::string, std::int64_t> next;  // default name -> the next number to try
  for (const Module* m : order) {
    if (!m->name_.empty()) continue;  // named, or a module that appears twice
    std::int64_t& n = next[m->default_name_];
    while (taken.contains(numbered_name(m->default_name_, n))) ++n;
    m->name_ = numbered_name(m->default_name_, n++);
    taken.insert(m->name_);
  }
}

template <class Build, class Run>
Tensor Module::run_call(Build build, Run run) {
  const CallDepth depth;
  if (depth.outermost()) assign_names();
  const bool first = !built_;
  if (first) {
    build();
    built_ = true;
  }
  Tensor y = run();
  output_shape_ = without_batch(y.shape());
  if (!called_) {  // the first call that completes, even after a first one that threw
    rename(name());
    called_ = true;
  }
  return y;
}

void Module::check_input_count(std::size_t n) const {
  if (!accepts_inputs(n)) {
    throw ValueError(type_name() + " '" + name() + "': cannot take " + std::to_string(n) + " input" + (n == 1 ? "" : "s"));
  }
}

Tensor Module::operator()(const Tensor& x, bool training) {
  return call_with(x, [&] { return call(x, training); });
}

Tensor Module::call_fused(Module&, const Tensor&, bool) { return Tensor(); }

Tensor Module::call_with(const Tensor& x, const std::function<Tensor()>& run) {
  if (!x.defined()) throw ValueError(type_name() + " '" + name() + "': input is undefined");
  check_input_count(1);
  return run_call([&] { build_variables(x.shape(), x.dtype()); }, run);
}

Tensor Module::operator()(const std::vector<Tensor>& inputs, bool training) {
  check_input_count(inputs.size());
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) throw ValueError(type_name() + " '" + name() + "': input " + std::to_string(i) + " is undefined");
    shapes.push_back(inputs[i].shape());
  }
  return run_call([&] { build_variables_for(shapes, inputs[0].dtype()); }, [&] { return call_inputs(inputs, training); });
}

namespace {
// A batch of one zero input of shape [1, shape...].
Tensor zeros_batch_of_one(const Shape& shape) {
  std::vector<std::int64_t> dims{1};
  dims.insert(dims.end(), shape.begin(), shape.end());
  return Tensor::zeros(Shape(dims));
}
}  // namespace

void Module::build(const Shape& input_shape, Generator& gen) {
  InitScope scope(gen);
  NoRecord no_record;
  (*this)(zeros_batch_of_one(input_shape), false);
}

void Module::build_inputs(const std::vector<Shape>& input_shapes, Generator& gen) {
  InitScope scope(gen);
  NoRecord no_record;
  std::vector<Tensor> inputs;
  for (const Shape& shape : input_shapes) inputs.push_back(zeros_batch_of_one(shape));
  (*this)(inputs, false);
}

void Module::build(const Shape& input_shape, std::uint64_t seed) {
  Generator gen(seed);
  build(input_shape, gen);
}

Generator& Module::init_generator() {
  if (t_init_generator) return *t_init_generator;
  if (!fallback_gen_) fallback_gen_ = std::make_unique<Generator>(seed_from_name(name()));
  return *fallback_gen_;
}

void Module::build_child(Module& child, const Shape& input_shape, DType dtype) {
  if (child.built_) return;
  child.build_variables(input_shape, dtype);
  child.built_ = true;
}

Variable Module::add_weight(const std::string& name, const Shape& shape, const Initializer& init, bool trainable,
                            DType dtype) {
  Tensor value = init(shape, dtype, init_generator());
  Variable v(value.to(dtype), this->name() + "/" + name, trainable);
  weights_.emplace_back(name, v);
  return v;
}

std::vector<const Module*> Module::children() const {
  auto kids = const_cast<Module*>(this)->children();
  return std::vector<const Module*>(kids.begin(), kids.end());
}

void Module::collect(const std::string& prefix, std::vector<NamedVariable>& out) const {
  for (const auto& [local, v] : weights_) out.push_back({prefix + "/" + local, v});
  for (const Module* c : children()) c->collect(prefix + "/" + c->name(), out);
}

void Module::rename(const std::string& prefix) {
  for (auto& [local, v] : weights_) v.set_name(prefix + "/" + local);
  for (Module* c : children()) c->rename(prefix + "/" + c->name());
}

std::vector<NamedVariable> Module::named_variables() const {
  assign_names();
  std::vector<NamedVariable> out;
  collect(name(), out);
  return out;
}

std::vector<Variable> Module::variables() const {
  std::vector<Variable> out;
  for (auto& nv : named_variables()) out.push_back(nv.variable);
  return out;
}

std::vector<Variable> Module::trainable_variables() const {
  std::vector<Variable> out;
  for (auto& nv : named_variables()) {
    if (nv.variable.trainable()) out.push_back(nv.variable);
  }
  return out;
}

std::vector<Variable> Module::non_trainable_variables() const {
  std::vector<Variable> out;
  for (auto& nv : named_variables()) {
    if (!nv.variable.trainable()) out.push_back(nv.variable);
  }
  return out;
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() {
  assign_names();
  std::vector<std::pair<std::string, Generator*>> out;
  for (auto& [local, g] : own_generators()) out.emplace_back(name() + "/" + local, g);
  for (Module* c : children()) {
    for (auto& [n, g] : c->named_generators()) out.emplace_back(name() + "/" + n, g);
  }
  return out;
}

std::int64_t Module::count_params() const {
  std::int64_t n = 0;
  for (const auto& nv : named_variables()) n += nv.variable.shape().numel();
  return n;
}

std::string format_count(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {

std::string shape_text(const std::optional<Shape>& s) {
  if (!s) return "multiple";
  std::string out = "(None";
  for (auto d : s->dims()) out += ", " + std::to_string(d);
  return out + ")";
}

// Keras' print_row: each field is cut at its column end, and the last character before the next
// field becomes a space.
std::string table_row(const std::vector<std::string>& fields, const std::vector<int>& positions) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line = line.substr(0, line.size() - 1) + " ";
    line += fields[i];
    line = line.substr(0, static_cast<std::size_t>(positions[i]));
    line += std::string(static_cast<std::size_t>(positions[i]) - line.size(), ' ');
  }
  return line;
}

}  // namespace

void Module::summary(std::ostream& os, int line_length) const {
  const std::vector<int> positions{static_cast<int>(line_length * 0.45), static_cast<int>(line_length * 0.85),
                                   line_length};
  const std::string rule(static_cast<std::size_t>(line_length), '_');
  const std::string double_rule(static_cast<std::size_t>(line_length), '=');
  assign_names();
  os << "Model: \"" << name() << "\"\n" << rule << '\n';
  os << table_row({"Layer (type)", "Output Shape", "Param #"}, positions) << '\n' << double_rule << '\n';
  std::vector<const Module*> rows = children();
  if (rows.empty()) rows.push_back(this);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Module* m = rows[i];
    os << table_row({m->name() + " (" + m->type_name() + ")", shape_text(m->output_shape()),
                     std::to_string(m->count_params())},
                    positions)
       << '\n'
       << (i + 1 < rows.size() ? rule : double_rule) << '\n';
  }
  std::int64_t trainable = 0, frozen = 0;
  for (const auto& nv : named_variables()) (nv.variable.trainable() ? trainable : frozen) += nv.variable.shape().numel();
  os << "Total params: " << format_count(trainable + frozen) << '\n'
     << "Trainable params: " << format_count(trainable) << '\n'
     << "Non-trainable params: " << format_count(frozen) << '\n'
     << rule << '\n';
}

// ---------------------------------------------------------------- Sequential
std::vector<Module*> Sequential::children() {
  std::vector<Module*> out;
  for (auto& l : layers_) out.push_back(l.get());
  return out;
}

Tensor Sequential::call(const Tensor& x, bool training) { return run_layers(x, 0, training); }

Tensor Sequential::call_inputs(const std::vector<Tensor>& inputs, bool training) {
  if (inputs.size() == 1) return call(inputs[0], training);
  return run_layers((*layers_.at(0))(inputs, training), 1, training);
}

Tensor Sequential::run_layers(Tensor y, std::size_t first, bool training) {
  for (std::size_t i = first; i < layers_.size(); ++i) {
    if (i + 1 < layers_.size()) {
      Tensor fused = layers_[i]->call_fused(*layers_[i + 1], y, training);
      if (fused.defined()) {
        y = std::move(fused);
        ++i;
        continue;
      }
    }
    y = (*layers_[i])(y, training);
  }
  return y;
}

// ---------------------------------------------------------------- Functional
namespace {
std::uint64_t next_functional_id() {
  static std::atomic<std::uint64_t> next{1};
  return next++;
}
}  // namespace

Functional::Functional(std::string name) : Module("functional", std::move(name)), id_(next_functional_id()) {}

Functional::Node Functional::input() {
  if (!layers_.empty()) throw ValueError("Functional '" + name() + "': inputs come before the layers");
  if (called()) throw ValueError("Functional '" + name() + "': inputs are added before the first call");
  steps_.push_back({nullptr, {}});
  ++num_inputs_;
  return node(steps_.size() - 1);
}

void Functional::check_node(Node n, const char* what) const {
  if (n.model != id_) {
    throw ValueError("Functional '" + name() + "': " + what + " is a node of another model");
  }
  if (n.index >= steps_.size()) {
    throw ValueError("Functional '" + name() + "': " + what + " is node " + std::to_string(n.index) + ", but the model has " +
                     std::to_string(steps_.size()) + " nodes");
  }
}

Functional::Node Functional::apply(std::shared_ptr<Module> layer, const std::vector<Node>& inputs) {
  if (!layer) throw ValueError("Functional '" + name() + "': apply() got no layer");
  if (inputs.empty() || !layer->accepts_inputs(inputs.size())) {
    throw ValueError("Functional '" + name() + "': " + layer->type_name() + " cannot take " + std::to_string(inputs.size()) +
                     " inputs");
  }
  if (called()) throw ValueError("Functional '" + name() + "': layers are added before the first call");
  Step step{layer, {}};
  for (Node n : inputs) {
    check_node(n, "an input");
    step.inputs.push_back(n.index);
  }
  if (std::find(layers_.begin(), layers_.end(), layer) == layers_.end()) layers_.push_back(layer);
  steps_.push_back(std::move(step));
  return node(steps_.size() - 1);
}

Functional::Node Functional::apply_each(Sequential& sequence, Node x) {
  for (const auto& layer : sequence.layers()) x = apply(layer, std::vector<Node>{x});
  return x;
}

void Functional::output(Node out) {
  check_node(out, "the output");
  output_ = out.index;
}

std::vector<Module*> Functional::children() {
  std::vector<Module*> out;
  for (auto& l : layers_) out.push_back(l.get());
  return out;
}

Tensor Functional::call_inputs(const std::vector<Tensor>& inputs, bool training) {
  if (!output_) throw ValueError("Functional '" + name() + "': no output() was given");
  std::vector<Tensor> values(steps_.size());
  std::size_t next_input = 0;
  for (std::size_t i = 0; i <= *output_; ++i) {
    const Step& step = steps_[i];
    if (!step.layer) {
      values[i] = inputs.at(next_input++);
      continue;
    }
    std::vector<Tensor> args;
    for (std::size_t j : step.inputs) args.push_back(values[j]);
    values[i] = args.size() == 1 ? (*step.layer)(args[0], training) : (*step.layer)(args, training);
  }
  return values[*output_];
}

}  // namespace tape::nn
