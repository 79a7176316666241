// Data-parallel training on a Communicator: differentiable all-reduce, bucketed gradient
// averaging, broadcasts of variables, optimizer state and generators.
#include "tape/distributed/data_parallel.h"

#include <chrono>
#include <cstring>

namespace tape::distributed {

// x[...] -> [...], summed over ranks; the backward is the same op on the upstream gradient
Tensor all_reduce_sum(const Tensor& x, const Communicator& comm) {
  return custom_gradient("all_reduce_sum", {x}, [comm](const std::vector<Tensor>& in) {
    return CustomGradientResult{comm.sum(in[0]),
                                [comm](const Tensor& upstream) { return std::vector<Tensor>{all_reduce_sum(upstream, comm)}; }};
  });
}

ReplicaSum replica_sum(const Communicator& comm) {
  return [comm](const Tensor& x) { return all_reduce_sum(x, comm); };
}

void distribute(nn::Module& model, const Communicator& comm, bool synchronize_batch_norm) {
  nn::set_data_parallel(model, comm.batch_shard(), synchronize_batch_norm ? replica_sum(comm) : ReplicaSum());
}

namespace {

// A fingerprint of shapes and dtypes, alike on every rank that holds alike tensors.
std::uint64_t layout_fingerprint(const std::vector<Layout>& layout) {
  std::uint64_t f = layout.size();
  for (const auto& [shape, dtype, defined] : layout) {
    f = f * 1000003u + (!defined ? 11u : dtype == DType::f64 ? 7u : 3u);
    for (const std::int64_t d : shape.dims()) f = f * 1000003u + static_cast<std::uint64_t>(d);
  }
  return f;
}

std::string describe(const std::vector<Layout>& layout) {
  std::string out = std::to_string(layout.size()) + " tensors";
  for (std::size_t i = 0; i < layout.size() && i < 4; ++i) {
    out += (i ? ", " : ": ") + (layout[i].defined ? layout[i].shape.to_string() : std::string("none"));
  }
  return out + (layout.size() > 4 ? ", ..." : "");
}

// Undefined tensors (no gradient) are allowed where `allow_undefined`.
std::vector<Layout> layout_of(const std::vector<Tensor>& tensors, const char* what, bool allow_undefined) {
  std::vector<Layout> layout;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) {
      if (!allow_undefined) throw DistributedError(std::string(what) + ": tensor " + std::to_string(i) + " is undefined");
      layout.push_back({Shape{}, DType::f32, false});
    } else {
      layout.push_back({tensors[i].shape(), tensors[i].dtype(), true});
    }
  }
  return layout;
}

}  // namespace

void broadcast_variables(const Communicator& comm, const std::vector<Variable>& variables, int root) {
  std::vector<Tensor> values;
  for (const Variable& v : variables) values.push_back(v.peek());
  const auto layout = layout_of(values, "broadcast_variables", false);
  comm.require_same(layout_fingerprint(layout), "broadcast_variables: the ranks hold different variables (rank " +
                                                    std::to_string(comm.rank()) + ": " + describe(layout) + ")");
  // One message per dtype: the values packed end to end.
  for (const DType dtype : {DType::f32, DType::f64}) {
    std::vector<std::size_t> members;
    std::int64_t n = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i].dtype() == dtype) members.push_back(i), n += values[i].numel();
    }
    if (members.empty()) continue;
    const Tensor flat = concat([&] {
      std::vector<Tensor> parts;
      for (const std::size_t i : members) parts.push_back(reshape(values[i], {-1}));
      return parts;
    }(), 0);
    const Tensor received = comm.broadcast(flat, root);
    std::int64_t offset = 0;
    for (const std::size_t i : members) {
      Variable v = variables[i];
      v.assign(reshape(slice(received, {offset}, {values[i].numel()}), values[i].shape().dims()));
      offset += values[i].numel();
    }
  }
}

void broadcast_optimizer_state(const Communicator& comm, nn::Optimizer& optimizer, int root) {
  const std::vector<nn::SlotTensor> mine = comm.rank() == root ? optimizer.state() : std::vector<nn::SlotTensor>{};
  const std::int64_t count = comm.broadcast(static_cast<std::int64_t>(mine.size()), root);
  const std::int64_t iterations = comm.broadcast(optimizer.iterations(), root);
  std::vector<nn::SlotTensor> slots;
  for (std::int64_t i = 0; i < count; ++i) {
    const bool here = comm.rank() == root;
    nn::SlotTensor s;
    s.variable = comm.broadcast(here ? mine[static_cast<std::size_t>(i)].variable : std::string(), root);
    s.slot = comm.broadcast(here ? mine[static_cast<std::size_t>(i)].slot : std::string(), root);
    s.value = comm.broadcast(here ? mine[static_cast<std::size_t>(i)].value : Tensor(), root);
    slots.push_back(std::move(s));
  }
  if (comm.rank() != root) optimizer.load_state(slots, iterations);
}

void broadcast_generators(const Communicator& comm, const std::vector<Generator*>& generators, int root) {
  for (Generator* g : generators) {
    const GeneratorState s = g->state();
    const auto seed = static_cast<std::uint64_t>(comm.broadcast(static_cast<std::int64_t>(s.seed), root));
    const auto counter = static_cast<std::uint64_t>(comm.broadcast(static_cast<std::int64_t>(s.counter), root));
    const auto index = static_cast<std::uint32_t>(comm.broadcast(static_cast<std::int64_t>(s.index), root));
    g->set_state({seed, counter, index});
  }
}

// ---------------------------------------------------------------- gradient averaging
GradientAverager::GradientAverager(Communicator comm, std::size_t bucket_bytes)
    : comm_(comm), bucket_bytes_(std::max<std::size_t>(bucket_bytes, 1)) {}

// Consecutive gradients of one dtype share a bucket up to bucket_bytes.
void GradientAverager::plan(const std::vector<Tensor>& gradients) {
  const auto layout = layout_of(gradients, "GradientAverager", true);
  if (layout == layout_) return;
  comm_.require_same(layout_fingerprint(layout), "GradientAverager: the ranks' gradients differ (rank " +
                                                     std::to_string(comm_.rank()) + ": " + describe(layout) + ")");
  layout_ = layout;
  buckets_.clear();
  std::size_t largest = 0;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    if (!layout[i].defined) continue;  // no gradient: stays undefined
    const std::size_t width = layout[i].dtype == DType::f64 ? 8 : 4;
    const std::size_t bytes = static_cast<std::size_t>(gradients[i].numel()) * width;
    const bool fits = !buckets_.empty() && buckets_.back().dtype == layout[i].dtype &&
                      static_cast<std::size_t>(buckets_.back().numel) * width + bytes <= bucket_bytes_;
    if (!fits) buckets_.push_back({layout[i].dtype, {}, 0});
    buckets_.back().members.push_back(i);
    buckets_.back().numel += gradients[i].numel();
    largest = std::max(largest, static_cast<std::size_t>(buckets_.back().numel));
  }
  f32_.resize(largest);
  f64_.resize(largest);
}

std::vector<Tensor> GradientAverager::average(const std::vector<Tensor>& gradients) {
  plan(gradients);
  std::vector<Tensor> out(gradients.size());
  const double scale = 1.0 / comm_.size();
  for (const Bucket& b : buckets_) {
    auto reduce = [&]<class T>(std::vector<T>& buffer) {
      T* p = buffer.data();
      for (const std::size_t i : b.members) {
        std::memcpy(p, gradients[i].data<T>(), static_cast<std::size_t>(gradients[i].numel()) * sizeof(T));
        p += gradients[i].numel();
      }
      const auto t0 = std::chrono::steady_clock::now();
      comm_.sum_in_place(buffer.data(), b.numel);
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++messages_;
      bytes_ += b.numel * static_cast<std::int64_t>(sizeof(T));
      for (std::int64_t k = 0; k < b.numel; ++k) buffer[static_cast<std::size_t>(k)] *= static_cast<T>(scale);
      const T* q = buffer.data();
      for (const std::size_t i : b.members) {  // the average, copied out once
        out[i] = Tensor::from_data(q, gradients[i].shape());
        q += gradients[i].numel();
      }
    };
    if (b.dtype == DType::f64) {
      reduce(f64_);
    } else {
      reduce(f32_);
    }
  }
  return out;
}

}  // namespace tape::distributed
