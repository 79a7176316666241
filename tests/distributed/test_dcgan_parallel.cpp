// dcgan's step over the ranks of mpirun against one process with the whole batch: with
// synchronized BatchNorm, the tf-tutorial and keras-small steps (BatchNorm in G, Dropout in D)
// give the same weights, moving statistics and generator states after several steps, to float
// rounding; and dcgan train over the ranks writes one run folder that resumes exactly.
#include <tape/distributed/data_parallel.h>


#include "process_group.h"
#include "support/test_support.h"
#include "trainer.h"

using namespace tape;
namespace td = tape::distributed;

namespace {

// The largest difference between two models' variables, relative to each variable's largest
// value, and the variable where it is.
std::pair<double, std::string> max_relative_difference(const nn::Module& a, const nn::Module& b) {
  const auto va = a.named_variables(), vb = b.named_variables();
  REQUIRE(va.size() == vb.size());
  std::pair<double, std::string> worst{0.0, ""};
  for (std::size_t i = 0; i < va.size(); ++i) {
    REQUIRE(va[i].name == vb[i].name);
    const double d = test::max_rel_diff(va[i].variable.peek(), vb[i].variable.peek());
    if (d > worst.first) worst = {d, va[i].name};
  }
  return worst;
}

}  // namespace

TEST_CASE("mpi: dcgan steps over the ranks equal one process's (tf-tutorial, keras-small)", "[mpi][dcgan]") {
  const auto comm = td::Communicator::world();
  const dcgan::ProcessGroup group = dcgan::make_process_group(comm, true);
  for (const std::string name : {"tf-tutorial", "keras-small"}) {
    dcgan::Architecture one = dcgan::make_architecture(name, 100, 7), many = dcgan::make_architecture(name, 100, 7);
    group.prepare(many.generator);
    group.prepare(many.discriminator);
    // Adam with epsilon 1 and a learning rate of 0.01: its step is then nearly linear in the
    // gradient (about 0.01 g), so a gradient's rounding stays rounding in the weights. With a
    // small epsilon Adam divides each gradient by its own size, and a gradient that is zero but
    // for rounding (a bias before BatchNorm, which removes it) or that sums a few cancelling
    // terms (a BatchNorm's beta over a batch of 8) turns its rounding into a step of up to the
    // learning rate whose sign differs between any two summation orders: with epsilon 1e-3 and
    // lr 2e-4, one of tf-tutorial's batch_normalization_1 betas lay 9e-4 of its variable's
    // largest value apart once tape's direct convolutions rounded otherwise (commit 87c7648).
    const nn::AdamOptions adam{.learning_rate = 0.01, .beta1 = 0.5, .epsilon = 1.0};
    nn::Adam g_one(adam), d_one(adam), g_many(adam), d_many(adam);
    Generator noise_one(3), noise_many(3);
    const std::int64_t global = 4 * comm.size();
    dcgan::StepOptions parallel;
    parallel.parallel = {comm.batch_shard(), group.average_gradients};
    for (int step = 0; step < 3; ++step) {
      Generator data(1000 + step);
      const Tensor real = Tensor::uniform({global, 28, 28, 1}, data, -1.0, 1.0);
      const Tensor mine = slice(real, {comm.rank() * 4, 0, 0, 0}, {4, -1, -1, -1});
      const dcgan::StepResult a = dcgan::train_step(one, g_one, d_one, real, noise_one, {});
      dcgan::StepResult b = dcgan::train_step(many, g_many, d_many, mine, noise_many, parallel);
      const double g_loss = comm.sum(std::vector<double>{b.g_loss})[0] / comm.size();
      CHECK(std::abs(g_loss - a.g_loss) <= 1e-5 * std::abs(a.g_loss));
    }
    const auto [g_diff, g_where] = max_relative_difference(many.generator, one.generator);
    const auto [d_diff, d_where] = max_relative_difference(many.discriminator, one.discriminator);
    WARN(name << " on " << comm.size() << " ranks, 3 steps: max relative difference G " << g_diff << " (" << g_where
              << "), D " << d_diff << " (" << d_where << ")");
    // Rounding only: the ranks sum their gradients in another order. The largest differences are
    // in keras-small's biases, whose gradients sum thousands of mostly cancelling terms: 1.2-5.3e-6
    // on each convolution path (TAPE_CONV_PATH=auto, direct, onednn, gemm), tf-tutorial's under
    // 1e-6 in G; float32's own precision is 6e-8.
    CHECK(g_diff <= 2e-5);
    CHECK(d_diff <= 2e-5);
    CHECK(noise_many.state() == noise_one.state());
    const auto gens_one = one.discriminator.named_generators(), gens_many = many.discriminator.named_generators();
    REQUIRE(gens_one.size() == gens_many.size());
    for (std::size_t i = 0; i < gens_one.size(); ++i) CHECK(gens_many[i].second->state() == gens_one[i].second->state());
  }
}
