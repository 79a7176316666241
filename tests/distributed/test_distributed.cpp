// tape::distributed under mpirun: broadcast, sums against a serial sum, the differentiable
// all-reduce (adjoint test), bucketed gradient averaging, broadcast of variables and optimizer
// state, synchronized BatchNorm against one process, the sharded sampler. Every rank runs every
// case; comparisons use CHECK so that a failing rank still reaches the next collective.
#include <tape/data/batches.h>
#include <tape/distributed/data_parallel.h>

#include <set>

#include "support/test_support.h"

using namespace tape;
namespace td = tape::distributed;

namespace {

td::Communicator world() { return td::Communicator::world(); }

// Rank r's sample tensor and the serial sum of every rank's.
Tensor rank_tensor(const Shape& shape, int rank, DType dtype = DType::f64) { return test::rand(shape, 100 + rank, -1.0, 1.0, dtype); }
Tensor serial_sum(const Shape& shape, int size, DType dtype = DType::f64) {
  Tensor s = rank_tensor(shape, 0, dtype);
  for (int r = 1; r < size; ++r) s = s + rank_tensor(shape, r, dtype);
  return s;
}

}  // namespace

TEST_CASE("mpi: the world has ranks 0..size-1", "[mpi]") {
  const auto comm = world();
  CHECK(comm.size() >= 1);
  CHECK(comm.rank() >= 0);
  CHECK(comm.rank() < comm.size());
  CHECK(comm.sum(std::vector<double>{1.0})[0] == comm.size());
  CHECK(comm.max(comm.rank()) == comm.size() - 1);
  comm.barrier();
}

TEST_CASE("mpi: broadcast gives root's tensor, text and numbers to every rank", "[mpi]") {
  const auto comm = world();
  for (const int root : {0, comm.size() - 1}) {
    for (const DType dtype : {DType::f32, DType::f64}) {
      const Tensor mine = rank_tensor({3, 4, 2}, comm.rank(), dtype);
      const Tensor got = comm.broadcast(comm.rank() == root ? mine : Tensor(), root);
      CHECK(got.shape() == Shape{3, 4, 2});
      CHECK(got.dtype() == dtype);
      CHECK(got.to_vector<double>() == rank_tensor({3, 4, 2}, root, dtype).to_vector<double>());
    }
    CHECK(comm.broadcast("rank " + std::to_string(comm.rank()), root) == "rank " + std::to_string(root));
    CHECK(comm.broadcast(std::int64_t{1000} + comm.rank(), root) == 1000 + root);
  }
}

TEST_CASE("mpi: sum equals the serial sum; mismatched shapes throw on every rank", "[mpi]") {
  const auto comm = world();
  for (const DType dtype : {DType::f32, DType::f64}) {
    const Tensor got = comm.sum(rank_tensor({5, 7}, comm.rank(), dtype));
    CHECK(test::max_rel_diff(got, serial_sum({5, 7}, comm.size(), dtype)) <= (dtype == DType::f32 ? 1e-6 : 1e-15));
  }
  if (comm.size() > 1) {
    const Tensor odd = comm.rank() == 1 ? test::rand({4}, 1) : test::rand({5}, 1);
    CHECK_THROWS_AS(comm.sum(odd), td::DistributedError);
  }
}

TEST_CASE("mpi: all_reduce_sum is differentiable: the adjoint test and a second derivative", "[mpi]") {
  const auto comm = world();
  const Shape shape{3, 4};
  const Tensor x = rank_tensor(shape, comm.rank());
  const Tensor y = test::rand(shape, 200 + comm.rank());
  // <A x, y> summed over ranks = <x, A^T y> summed over ranks, A the all-reduce.
  GradientTape t;
  t.watch(x);
  const Tensor ax = td::all_reduce_sum(x, comm);
  CHECK(test::max_rel_diff(ax, serial_sum(shape, comm.size())) <= 1e-15);
  const Tensor aty = t.gradient({ax}, x, {.output_gradients = {y}});
  const double lhs = comm.sum(std::vector<double>{sum(ax * y).item()})[0];
  const double rhs = comm.sum(std::vector<double>{sum(x * aty).item()})[0];
  CHECK(std::abs(lhs - rhs) <= 1e-12 * std::max(1.0, std::abs(lhs)));
  // d/dx of sum(all_reduce_sum(x)^2) is 2 size * the global sum; its derivative again is 2 size^2
  GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    GradientTape inner;
    inner.watch(x);
    g = inner.gradient(sum(square(td::all_reduce_sum(x, comm))), x);
  }
  CHECK(test::max_rel_diff(g, serial_sum(shape, comm.size()) * (2.0 * comm.size())) <= 1e-14);
  const Tensor gg = outer.gradient(sum(g), x);
  CHECK(test::max_rel_diff(gg, Tensor::full(shape, 2.0 * comm.size() * comm.size(), DType::f64)) <= 1e-14);
}

TEST_CASE("mpi: GradientAverager averages in buckets, undefined gradients stay undefined", "[mpi]") {
  const auto comm = world();
  const std::vector<Shape> shapes{{300}, {20, 10}, {5}, {1000}, {3, 3, 2}};
  std::vector<Tensor> grads;
  for (std::size_t i = 0; i < shapes.size(); ++i) grads.push_back(rank_tensor(shapes[i], comm.rank() * 10 + static_cast<int>(i), DType::f32));
  grads.insert(grads.begin() + 2, Tensor());  // a variable without a gradient
  td::GradientAverager averager(comm, 2048);  // 512 floats a bucket: [300, 200], [5], [1000], [18]... in order
  const std::vector<Tensor> avg = averager.average(grads);
  REQUIRE(avg.size() == grads.size());
  CHECK(!avg[2].defined());
  std::size_t k = 0;
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (i == 2) continue;
    Tensor expected = rank_tensor(shapes[k], static_cast<int>(k), DType::f32);
    for (int r = 1; r < comm.size(); ++r) expected = expected + rank_tensor(shapes[k], r * 10 + static_cast<int>(k), DType::f32);
    CHECK(test::max_rel_diff(avg[i], expected * (1.0 / comm.size())) <= 1e-6);
    ++k;
  }
  CHECK(averager.messages() == 3);  // [300 + 200 + 5], [1000], [18]
  (void)averager.average(grads);
  CHECK(averager.messages() == 6);
  CHECK(averager.bytes() == 2 * 4 * (300 + 200 + 5 + 1000 + 18));
}

TEST_CASE("mpi: broadcast_variables and broadcast_optimizer_state copy rank 0's", "[mpi]") {
  const auto comm = world();
  Variable a(rank_tensor({4, 3}, comm.rank(), DType::f32)), b(rank_tensor({7}, comm.rank() + 50));
  td::broadcast_variables(comm, {a, b});
  CHECK(a.peek().to_vector<float>() == rank_tensor({4, 3}, 0, DType::f32).to_vector<float>());
  CHECK(b.peek().to_vector<double>() == rank_tensor({7}, 50).to_vector<double>());

  nn::Sequential model(nn::Dense(3, {.name = "dense"}));
  model.build({2}, 9);
  nn::Adam adam({.learning_rate = 1e-2});
  const auto vars = model.trainable_variables();
  for (int k = 0; k <= comm.rank(); ++k) {  // rank r makes r + 1 updates
    std::vector<Tensor> grads;
    for (const Variable& v : vars) grads.push_back(Tensor::full(v.peek().shape(), 0.1 * (k + 1)));
    adam.apply_gradients(grads, vars);
  }
  td::broadcast_optimizer_state(comm, adam);
  CHECK(adam.iterations() == 1);
  for (const nn::SlotTensor& s : adam.state()) {
    const double m = s.slot == "m" ? 0.01 : 0.001 * 0.01;  // one update of gradient 0.1
    INFO(s.variable << "/" << s.slot);
    CHECK(test::max_rel_diff(s.value, Tensor::full(s.value.shape(), m, s.value.dtype())) <= 1e-6);
  }
  Generator g(comm.rank() + 5);
  td::broadcast_generators(comm, {&g});
  CHECK(g.state() == Generator(5).state());
}

TEST_CASE("mpi: synchronized BatchNorm over the ranks equals BatchNorm over the whole batch", "[mpi]") {
  const auto comm = world();
  const std::int64_t rows = 3, global = rows * comm.size();
  const Tensor x = test::rand({global, 2, 2, 4}, 300);  // the same global batch on every rank
  const Tensor mine = slice(x, {comm.rank() * rows, 0, 0, 0}, {rows, -1, -1, -1});
  const Tensor gamma = test::rand({4}, 301, 0.5, 1.5), beta = test::rand({4}, 302);
  const Tensor v = test::rand({global, 2, 2, 4}, 303);
  const Tensor v_mine = slice(v, {comm.rank() * rows, 0, 0, 0}, {rows, -1, -1, -1});
  GradientTape whole_tape, part_tape;
  whole_tape.watch({x, gamma, beta});
  part_tape.watch({mine, gamma, beta});
  const BatchNormResult whole = batch_norm(x, gamma, beta, 1e-3);
  const BatchNormResult part = batch_norm(mine, gamma, beta, 1e-3, td::replica_sum(comm), comm.size());
  CHECK(test::max_rel_diff(part.y, slice(whole.y, {comm.rank() * rows, 0, 0, 0}, {rows, -1, -1, -1})) <= 1e-13);
  CHECK(test::max_rel_diff(part.mean, whole.mean) <= 1e-13);
  CHECK(test::max_rel_diff(part.variance, whole.variance) <= 1e-13);
  // Gradients: x's rows are this rank's; gamma's and beta's summed over the ranks are the whole's.
  const auto gw = whole_tape.gradient({whole.y}, {x, gamma, beta}, {.output_gradients = {v}});
  const auto gp = part_tape.gradient({part.y}, {mine, gamma, beta}, {.output_gradients = {v_mine}});
  CHECK(test::max_rel_diff(gp[0], slice(gw[0], {comm.rank() * rows, 0, 0, 0}, {rows, -1, -1, -1})) <= 1e-12);
  CHECK(test::max_rel_diff(comm.sum(gp[1]), gw[1]) <= 1e-12);
  CHECK(test::max_rel_diff(comm.sum(gp[2]), gw[2]) <= 1e-12);
}

TEST_CASE("mpi: the sharded sampler gives every image of an epoch to exactly one rank", "[mpi]") {
  const auto comm = world();
  const std::int64_t n = 101, batch = 4 * comm.size();
  std::vector<float> pixels;
  data::Dataset ds;
  for (std::int64_t i = 0; i < n; ++i) pixels.push_back(static_cast<float>(i)), ds.labels.push_back(0);
  ds.images = Tensor::from_vector(pixels, Shape{n, 1, 1, 1});
  data::EpochBatches batches(ds, 11, comm.batch_shard());
  batches.seek(0, 0);
  std::vector<double> seen(static_cast<std::size_t>(n), 0.0);
  std::int64_t steps = 0;
  while (batches.epoch() == 0) {
    for (const float i : batches.next(batch, batch).to_vector<float>()) seen[static_cast<std::size_t>(i)] += 1.0;
    ++steps;
  }
  const std::vector<double> total = comm.sum(seen);
  std::int64_t once = 0, twice = 0;
  for (const double c : total) once += c == 1.0, twice += c > 1.0;
  CHECK(twice == 0);
  CHECK(once == steps * batch);         // every drawn image once
  CHECK(once > n - batch);              // and all but the last partial batch's
}
