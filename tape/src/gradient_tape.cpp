// GradientTape: the thread-local tape stack, recording, the reverse sweep, jacobians,
// stop_gradient, NoRecord and custom_gradient.
#include "tape/gradient_tape.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "record.h"
#include "tape/numerics.h"
#include "tape/ops.h"
#include "tensor_impl.h"

namespace tape {
namespace {

struct Record {
  std::string op;
  std::vector<TensorId> inputs;
  std::vector<Shape> input_shapes;
  std::vector<TensorId> outputs;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  detail::BackwardFn backward;
  std::string why_no_gradient;
};

}  // namespace

struct GradientTape::Impl {
  TapeOptions options;
  bool recording = true;
  bool used = false;  // a non-persistent tape that has answered
  std::unordered_set<TensorId> tracked;
  std::vector<std::shared_ptr<Record>> records;
  std::vector<Variable> watched_variables;

  bool tracks_any(const std::vector<Tensor>& xs) const {
    for (const auto& x : xs) {
      if (x.defined() && tracked.count(x.id())) return true;
    }
    return false;
  }
  // A non-persistent tape that has answered frees what it saved and cannot answer again.
  void release_if_not_persistent() {
    if (options.persistent) return;
    records.clear();
    tracked.clear();
    used = true;
    recording = false;
  }
  void watch_variable(const Variable& v) {
    tracked.insert(v.peek().id());
    for (const auto& w : watched_variables) {
      if (w == v) return;
    }
    watched_variables.push_back(v);
  }
};

namespace {

thread_local std::vector<GradientTape::Impl*> t_tapes;
thread_local int t_no_record_depth = 0;

bool any_recording() { return t_no_record_depth == 0 && !t_tapes.empty(); }

}  // namespace

// ---------------------------------------------------------------- recording (ops -> tapes)
namespace detail {

bool should_record(const std::vector<Tensor>& inputs) {
  if (!any_recording()) return false;
  for (auto* tape : t_tapes) {
    if (tape->recording && tape->tracks_any(inputs)) return true;
  }
  return false;
}

bool should_record(const Tensor& a) {
  if (!any_recording()) return false;
  for (auto* tape : t_tapes) {
    if (tape->recording && a.defined() && tape->tracked.count(a.id())) return true;
  }
  return false;
}

bool should_record(const Tensor& a, const Tensor& b) {
  if (!any_recording()) return false;
  for (auto* tape : t_tapes) {
    if (!tape->recording) continue;
    if ((a.defined() && tape->tracked.count(a.id())) || (b.defined() && tape->tracked.count(b.id()))) return true;
  }
  return false;
}

// "[2, 3], [3]": the shapes of an op's operands, for check_numerics' messages.
std::string join_shapes(const std::vector<Shape>& shapes) {
  std::string out;
  for (const Shape& s : shapes) out += (out.empty() ? "" : ", ") + s.to_string();
  return out;
}
std::string shapes_of(const std::vector<Tensor>& xs) {
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.defined() ? x.shape() : Shape{});
  return join_shapes(shapes);
}

void record(std::string op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward, std::string why_no_gradient) {
  if (!any_recording()) return;
  if (check_numerics()) {
    for (std::size_t k = 0; k < outputs.size(); ++k)
      if (!all_finite(outputs[k]))  // the message only for a failure: this runs for every op
        check_finite(outputs[k], "check_numerics: output " + std::to_string(k) + " of " + op + " (inputs " +
                                     shapes_of(inputs) + ")");
  }
  std::shared_ptr<Record> rec;
  for (auto* tape : t_tapes) {
    if (!tape->recording || !tape->tracks_any(inputs)) continue;
    if (!rec) {
      rec = std::make_shared<Record>();
      rec->op = std::move(op);
      for (const auto& x : inputs) {
        rec->inputs.push_back(x.defined() ? x.id() : 0);
        rec->input_shapes.push_back(x.defined() ? x.shape() : Shape{});
      }
      for (const auto& y : outputs) {
        rec->outputs.push_back(y.id());
        rec->output_shapes.push_back(y.shape());
        rec->output_dtypes.push_back(y.dtype());
      }
      rec->backward = std::move(backward);
      rec->why_no_gradient = std::move(why_no_gradient);
    }
    tape->records.push_back(rec);
    for (const auto& y : outputs) tape->tracked.insert(y.id());
  }
}

void record(std::string op, const std::vector<Tensor>& inputs, const Tensor& output, Backward1 backward) {
  record(std::move(op), inputs, std::vector<Tensor>{output},
         [fn = std::move(backward)](const std::vector<Tensor>& grads, const std::vector<bool>& needs) {
           return fn(grads[0], needs);
         });
}

void on_variable_read(const Variable& variable, const Tensor& value) {
  if (!any_recording() || !variable.trainable()) return;
  (void)value;
  for (auto* tape : t_tapes) {
    if (tape->recording && tape->options.watch_accessed_variables) tape->watch_variable(variable);
  }
}

}  // namespace detail

// ---------------------------------------------------------------- the tape
GradientTape::GradientTape(TapeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  t_tapes.push_back(impl_.get());
}

GradientTape::~GradientTape() {
  auto it = std::find(t_tapes.begin(), t_tapes.end(), impl_.get());
  if (it != t_tapes.end()) t_tapes.erase(it);
}

void GradientTape::watch(const Tensor& tensor) {
  if (!tensor.defined()) throw ValueError("GradientTape::watch: the tensor is undefined");
  impl_->tracked.insert(tensor.id());
}
void GradientTape::watch(const std::vector<Tensor>& tensors) {
  for (const auto& t : tensors) watch(t);
}
void GradientTape::watch(const Variable& variable) {
  if (!variable.defined()) throw ValueError("GradientTape::watch: the variable is undefined");
  impl_->watch_variable(variable);
}
void GradientTape::watch(const std::vector<Variable>& variables) {
  for (const auto& v : variables) watch(v);
}

bool GradientTape::persistent() const { return impl_->options.persistent; }
bool GradientTape::recording() const { return impl_->recording; }
std::vector<Variable> GradientTape::watched_variables() const { return impl_->watched_variables; }

void GradientTape::reset() {
  impl_->records.clear();
  impl_->tracked.clear();
  impl_->watched_variables.clear();
  impl_->used = false;
  impl_->recording = true;
}

StopRecording GradientTape::stop_recording() { return StopRecording(*this); }

StopRecording::StopRecording(GradientTape& tape) : tape_(&tape), was_recording_(tape.impl_->recording) {
  if (!was_recording_) throw TapeError("GradientTape::stop_recording: the tape is not recording");
  tape.impl_->recording = false;
}
StopRecording::~StopRecording() { tape_->impl_->recording = was_recording_; }

namespace {

// Pauses a tape for the duration of a sweep and restores it, even when a backward throws.
class Pause {
 public:
  explicit Pause(GradientTape::Impl& tape) : tape_(tape), was_(tape.recording) { tape.recording = false; }
  ~Pause() { tape_.recording = was_ && !tape_.used; }

 private:
  GradientTape::Impl& tape_;
  bool was_;
};

void accumulate(std::unordered_map<TensorId, Tensor>& grads, TensorId id, const Tensor& g) {
  auto [it, inserted] = grads.try_emplace(id, g);
  if (!inserted) it->second = add(it->second, g);
}

std::vector<Tensor> run_backward(const Record& rec, std::unordered_map<TensorId, Tensor>& grads,
                                 const std::unordered_set<TensorId>& reach) {
  std::vector<Tensor> upstream(rec.outputs.size());
  bool any = false;
  for (std::size_t k = 0; k < rec.outputs.size(); ++k) {
    auto it = grads.find(rec.outputs[k]);
    if (it != grads.end()) {
      upstream[k] = it->second;
      any = true;
    }
  }
  if (!any) return {};
  if (!rec.backward) {
    throw TapeError(rec.op + ": no gradient is defined for this op" +
                    (rec.why_no_gradient.empty() ? std::string() : " (" + rec.why_no_gradient + ")"));
  }
  for (std::size_t k = 0; k < upstream.size(); ++k) {
    if (!upstream[k].defined()) upstream[k] = Tensor::zeros(rec.output_shapes[k], rec.output_dtypes[k]);
  }
  std::vector<bool> needs(rec.inputs.size());
  for (std::size_t i = 0; i < needs.size(); ++i) needs[i] = reach.count(rec.inputs[i]) > 0;
  auto result = rec.backward(upstream, needs);
  if (result.size() != rec.inputs.size()) {
    throw InternalError(rec.op + ": backward returned " + std::to_string(result.size()) + " gradients for " +
                        std::to_string(rec.inputs.size()) + " inputs");
  }
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (needs[i] && result[i].defined() && result[i].shape() != rec.input_shapes[i]) {
      throw InternalError(rec.op + ": gradient of input " + std::to_string(i) + " has shape " +
                          result[i].shape().to_string() + ", expected " + rec.input_shapes[i].to_string());
    }
    if (needs[i] && check_numerics() && !all_finite(result[i])) {
      check_finite(result[i], "check_numerics: the backward of " + rec.op + " (forward inputs " +
                                  detail::join_shapes(rec.input_shapes) + ") made input " + std::to_string(i) +
                                  "'s gradient");
    }
  }
  return result;
}

}  // namespace

std::vector<Tensor> GradientTape::compute(const std::vector<Tensor>& targets, const std::vector<TensorId>& source_ids,
                                          const std::vector<Tensor>& source_values, const GradientOptions& options,
                                          bool consume) {
  Impl& tape = *impl_;
  if (tape.used) {
    throw TapeError("GradientTape::gradient: a non-persistent tape can only be used once; "
                    "create it with TapeOptions{.persistent = true} to call gradient() several times");
  }
  if (!options.output_gradients.empty() && options.output_gradients.size() != targets.size()) {
    throw ValueError("GradientTape::gradient: " + std::to_string(options.output_gradients.size()) +
                     " output_gradients for " + std::to_string(targets.size()) + " targets");
  }
  Pause pause(tape);
  // Only sources this tape tracks (watched, or produced by a recorded op) can have a gradient.
  std::unordered_set<TensorId> reach;
  for (TensorId id : source_ids) {
    if (tape.tracked.count(id)) reach.insert(id);
  }
  std::vector<char> useful(tape.records.size(), 0);
  for (std::size_t r = 0; r < tape.records.size(); ++r) {
    const Record& rec = *tape.records[r];
    if (std::any_of(rec.inputs.begin(), rec.inputs.end(), [&](TensorId id) { return reach.count(id) > 0; })) {
      useful[r] = 1;
      reach.insert(rec.outputs.begin(), rec.outputs.end());
    }
  }
  std::unordered_map<TensorId, Tensor> grads;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const Tensor& target = targets[k];
    if (!target.defined()) throw ValueError("GradientTape::gradient: the target is undefined");
    Tensor seed = Tensor::ones_like(target);
    if (!options.output_gradients.empty() && options.output_gradients[k].defined()) {
      seed = options.output_gradients[k];
      if (seed.shape() != target.shape()) {
        throw ShapeError("GradientTape::gradient: output_gradients[" + std::to_string(k) + "] has shape " +
                         seed.shape().to_string() + " but the target has shape " + target.shape().to_string());
      }
    }
    if (reach.count(target.id())) accumulate(grads, target.id(), seed);
  }
  const std::unordered_set<TensorId> keep(source_ids.begin(), source_ids.end());
  for (std::size_t r = tape.records.size(); r-- > 0;) {
    if (!useful[r]) continue;
    const Record& rec = *tape.records[r];
    auto result = run_backward(rec, grads, reach);
    for (std::size_t i = 0; i < result.size(); ++i) {
      if (result[i].defined() && reach.count(rec.inputs[i])) accumulate(grads, rec.inputs[i], result[i]);
    }
    for (TensorId out : rec.outputs) {
      if (!keep.count(out)) grads.erase(out);
    }
  }
  std::vector<Tensor> out(source_ids.size());
  for (std::size_t s = 0; s < source_ids.size(); ++s) {
    auto it = grads.find(source_ids[s]);
    if (it != grads.end()) {
      out[s] = it->second;
    } else if (options.unconnected == Unconnected::zero) {
      out[s] = Tensor::zeros_like(source_values[s]);
    }
  }
  if (consume) tape.release_if_not_persistent();
  return out;
}

namespace {

std::vector<TensorId> ids_of(const std::vector<Tensor>& xs) {
  std::vector<TensorId> ids;
  for (const auto& x : xs) {
    if (!x.defined()) throw ValueError("GradientTape::gradient: a source is undefined");
    ids.push_back(x.id());
  }
  return ids;
}

std::vector<Tensor> values_of(const std::vector<Variable>& vs) {
  std::vector<Tensor> values;
  for (const auto& v : vs) values.push_back(v.peek());
  return values;
}

}  // namespace

std::vector<Tensor> GradientTape::gradient(const std::vector<Tensor>& targets, const std::vector<Tensor>& sources,
                                           const GradientOptions& options) {
  return compute(targets, ids_of(sources), sources, options, true);
}
std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                           const GradientOptions& options) {
  return gradient(std::vector<Tensor>{target}, sources, options);
}
std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Variable>& sources,
                                           const GradientOptions& options) {
  return gradient(std::vector<Tensor>{target}, values_of(sources), options);
}
Tensor GradientTape::gradient(const Tensor& target, const Tensor& source, const GradientOptions& options) {
  return gradient(std::vector<Tensor>{target}, std::vector<Tensor>{source}, options)[0];
}
Tensor GradientTape::gradient(const Tensor& target, const Variable& source, const GradientOptions& options) {
  return gradient(std::vector<Tensor>{target}, std::vector<Tensor>{source.peek()}, options)[0];
}

namespace {

// A one-hot tensor of `shape` with a 1 at flat position `index`.
Tensor one_hot(const Shape& shape, DType dtype, std::int64_t index) {
  Tensor t = Tensor::zeros(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() { detail::mutable_data<T>(t)[index] = T(1); });
  return t;
}

// Rows (each of source_shape or undefined) stacked into [rows, source_shape...]; undefined rows
// become zeros; all undefined gives undefined unless `unconnected` asks for zeros.
Tensor stack_rows(const std::vector<Tensor>& rows, const Tensor& source, Unconnected unconnected,
                  const std::vector<std::int64_t>& out_dims) {
  const bool any = std::any_of(rows.begin(), rows.end(), [](const Tensor& r) { return r.defined(); });
  if (!any && unconnected == Unconnected::none) return Tensor();
  std::vector<Tensor> flat;
  for (const auto& r : rows) {
    flat.push_back(reshape(r.defined() ? r : Tensor::zeros_like(source), {1, source.numel()}));
  }
  if (flat.empty()) return Tensor::zeros(Shape(out_dims), source.dtype());
  return reshape(concat(flat, 0), out_dims);
}

}  // namespace

Tensor GradientTape::jacobian(const Tensor& target, const Tensor& source, Unconnected unconnected) {
  return jacobian(target, std::vector<Tensor>{source}, unconnected)[0];
}
Tensor GradientTape::jacobian(const Tensor& target, const Variable& source, Unconnected unconnected) {
  return jacobian(target, std::vector<Tensor>{source.peek()}, unconnected)[0];
}
std::vector<Tensor> GradientTape::jacobian(const Tensor& target, const std::vector<Variable>& sources,
                                           Unconnected unconnected) {
  return jacobian(target, values_of(sources), unconnected);
}

// One reverse sweep per element of target, each giving a row of every source's Jacobian.
std::vector<Tensor> GradientTape::jacobian(const Tensor& target, const std::vector<Tensor>& sources,
                                           Unconnected unconnected) {
  if (!target.defined()) throw ValueError("GradientTape::jacobian: undefined target");
  std::vector<TensorId> ids;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    if (!sources[k].defined()) throw ValueError("GradientTape::jacobian: source " + std::to_string(k) + " is undefined");
    ids.push_back(sources[k].id());
  }
  std::vector<std::vector<Tensor>> rows(sources.size());
  for (std::int64_t i = 0; i < target.numel(); ++i) {
    GradientOptions opts{{one_hot(target.shape(), target.dtype(), i)}, Unconnected::none};
    const std::vector<Tensor> row = compute({target}, ids, sources, opts, false);
    for (std::size_t k = 0; k < sources.size(); ++k) rows[k].push_back(row[k]);
  }
  std::vector<Tensor> out;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    std::vector<std::int64_t> dims = target.shape().dims();  // target.shape + source.shape
    dims.insert(dims.end(), sources[k].shape().begin(), sources[k].shape().end());
    out.push_back(stack_rows(rows[k], sources[k], unconnected, dims));
  }
  impl_->release_if_not_persistent();
  return out;
}

Tensor GradientTape::batch_jacobian(const Tensor& target, const Tensor& source, Unconnected unconnected) {
  if (!target.defined() || !source.defined()) {
    throw ValueError("GradientTape::batch_jacobian: undefined target or source");
  }
  if (target.rank() < 1 || source.rank() < 1 || target.dim(0) != source.dim(0)) {
    throw ShapeError("GradientTape::batch_jacobian: need the first dimension of target shape " +
                     target.shape().to_string() + " and source shape " + source.shape().to_string() +
                     " to match");
  }
  const std::int64_t b = target.dim(0), ny = target.numel() / std::max<std::int64_t>(b, 1);
  const std::int64_t nx = source.numel() / std::max<std::int64_t>(b, 1);
  std::vector<Tensor> cols;
  for (std::int64_t j = 0; j < ny; ++j) {
    Tensor seed = Tensor::zeros(target.shape(), target.dtype());
    detail::dispatch(target.dtype(), [&]<class T>() {
      for (std::int64_t n = 0; n < b; ++n) detail::mutable_data<T>(seed)[n * ny + j] = T(1);
    });
    GradientOptions opts{{seed}, Unconnected::none};
    Tensor g = compute({target}, {source.id()}, {source}, opts, false)[0];
    cols.push_back(g.defined() ? reshape(g, {b, 1, nx}) : Tensor());
  }
  std::vector<std::int64_t> dims = target.shape().dims();
  dims.insert(dims.end(), source.shape().begin() + 1, source.shape().end());
  Tensor result;
  const bool any = std::any_of(cols.begin(), cols.end(), [](const Tensor& c) { return c.defined(); });
  if (any) {
    for (auto& c : cols) {
      if (!c.defined()) c = Tensor::zeros({b, 1, nx}, source.dtype());
    }
    result = reshape(concat(cols, 1), dims);
  } else if (unconnected == Unconnected::zero) {
    result = Tensor::zeros(Shape(dims), source.dtype());
  }
  impl_->release_if_not_persistent();
  return result;
}

// ---------------------------------------------------------------- NoRecord, stop_gradient
NoRecord::NoRecord() { ++t_no_record_depth; }
NoRecord::~NoRecord() { --t_no_record_depth; }

Tensor stop_gradient(const Tensor& x) {
  if (!x.defined()) throw ValueError("stop_gradient: the tensor is undefined");
  return detail::alias(x, x.shape());
}

// ---------------------------------------------------------------- custom_gradient
namespace {

// Gives `t` a fresh identity when it is one of `others` (a record's outputs must be new tensors).
Tensor fresh(const Tensor& t, const std::vector<Tensor>& others) {
  for (const auto& o : others) {
    if (o.defined() && t.defined() && o.id() == t.id()) return detail::alias(t, t.shape());
  }
  return t;
}

}  // namespace

Tensor custom_gradient(const std::string& name, const std::vector<Tensor>& inputs,
                       const std::function<CustomGradientResult(const std::vector<Tensor>&)>& forward,
                       const CustomGradientOptions& options) {
  CustomGradientResult result;
  {
    NoRecord no_record;
    result = forward(inputs);
  }
  if (!result.output.defined()) throw ValueError("custom_gradient " + name + ": forward returned an undefined tensor");
  Tensor out = fresh(result.output, inputs);
  if (!detail::should_record(inputs)) return out;
  if (!result.backward) {
    detail::record(name, inputs, {out}, nullptr, "custom_gradient returned no backward function");
    return out;
  }
  const std::size_t n = inputs.size();
  const bool once = options.once_differentiable;
  detail::BackwardFn backward = [name, n, once, user = result.backward, inputs](
                                    const std::vector<Tensor>& grads, const std::vector<bool>&) {
    std::vector<Tensor> gs;
    if (once) {
      NoRecord no_record;
      gs = user(grads[0]);
    } else {
      gs = user(grads[0]);
    }
    if (gs.size() != n) {
      throw TapeError("custom_gradient " + name + ": backward returned " + std::to_string(gs.size()) +
                      " gradients for " + std::to_string(n) + " inputs");
    }
    if (once) {
      std::vector<Tensor> deps{grads[0]};
      deps.insert(deps.end(), inputs.begin(), inputs.end());
      std::vector<Tensor> outs;
      for (auto& g : gs) {
        if (!g.defined()) continue;
        g = fresh(g, deps);
        outs.push_back(g);
      }
      if (!outs.empty() && detail::should_record(deps)) {
        detail::record(name + "/backward", deps, outs, nullptr,
                       "it is once-differentiable: no second derivative");
      }
    }
    return gs;
  };
  detail::record(name, inputs, {out}, std::move(backward));
  return out;
}

}  // namespace tape
