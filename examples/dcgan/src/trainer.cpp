// The DCGAN training loop and its outputs. Uses only tape's public headers, like any user.
#include "trainer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>
#include <tape/data/batch_schedule.h>
#include <tape/data/batches.h>
#include <tape/data/dataset.h>
#include <tape/io/atomic_file.h>
#include <tape/nn/checkpoint_manager.h>
#include <tape/io/image.h>
#include <tape/io/image_files.h>
#include <tape/summary/event_writer.h>
#include <tape/summary/progress.h>

#include "classifier_paths.h"
#include "evaluation.h"
#include "run_files.h"
#include "sample_files.h"

template <>
struct nlohmann::adl_serializer<tape::data::BatchChange> {
  static void to_json(json& j, const tape::data::BatchChange& change) { j = {change.step, change.batch}; }
  static void from_json(const json& j, tape::data::BatchChange& change) {
    change.step = j.at(0).get<std::int64_t>();
    change.batch = j.at(1).get<std::int64_t>();
  }
};

namespace dcgan {

// config.json: every TrainConfig field under its own name (nlohmann's type macros; a --batch-from
// change as [step, batch], below); missing keys keep their defaults when read back.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, preset, dataset, data_dir, verify_checksums, arch, epochs,
                                                steps, batch, lr, g_lr, d_lr, lr_schedule, batch_from, lr_decay_start,
                                                lr_final, beta1, beta2, loss, updates, n_critic, gp_weight, r1_gamma,
                                                r1_every, ema, ema_start, z_dim, seed, out, resume, threads, real_label,
                                                balance, digit, split, sample_every, checkpoint_every, keep_checkpoints,
                                                tensorboard, tensorboard_every, samples, log_every, max_images,
                                                eval_every, eval_n, classifier, check_numerics, noise,
                                                sync_batch_norm, data_range, keep_partial_batch, conditional, codes,
                                                code_weight)

namespace nn = tape::nn;
namespace fs = std::filesystem;
using tape::Tensor;

// The classes of every dataset dcgan trains on (MNIST, Fashion-MNIST, CIFAR-10): a conditional run's labels.
constexpr std::int64_t kDatasetClasses = 10;

// ---------------------------------------------------------------- one step
namespace {

double mean_probability(const Tensor& logits) { return tape::mean(tape::sigmoid(logits)).item(); }

// This process's rows of global[B, ...] (all of it in one process).
Tensor shard_rows(const Tensor& global, const tape::BatchShard& shard) {
  if (shard.whole()) return global;
  std::vector<std::int64_t> begin(static_cast<std::size_t>(global.rank()), 0), size(begin.size(), -1);
  begin[0] = shard.first_row(global.dim(0));
  size[0] = shard.rows(global.dim(0));
  return tape::slice(global, begin, size);
}

// G's noise for this process's `rows` images: its rows of the global batch's draw.
Tensor noise_for(const Architecture& arch, std::int64_t rows, tape::Generator& gen, const tape::BatchShard& shard) {
  return shard_rows(arch.sample_noise(rows * shard.count, gen), shard);
}

// G's input for this process's `rows` images: noise, then (conditional) labels or codes drawn after it.
struct Fakes {
  Tensor z, labels;
};
Fakes fakes_for(const Architecture& arch, std::int64_t rows, tape::Generator& gen, const tape::BatchShard& shard) {
  Fakes f{noise_for(arch, rows, gen, shard), {}};
  if (arch.takes_labels()) f.labels = shard_rows(arch.sample_labels(rows * shard.count, gen), shard);
  return f;
}

Tensor generate(Architecture& arch, const Fakes& f, bool training = true) { return arch.generate(f.z, f.labels, training); }

// D as a function of the images alone, the labels held (R1, the gradient penalty).
nn::Critic critic_of(Architecture& arch, const Tensor& labels) {
  return [&arch, labels](const Tensor& x) { return arch.discriminate(x, labels, true); };
}

// InfoGAN's code term: code_logits [n, codes], codes [n] -> the mean softmax cross-entropy.
Tensor code_loss(const Tensor& code_logits, const Tensor& codes) {
  std::vector<std::int64_t> ids;
  for (float id : codes.to_vector<float>()) ids.push_back(static_cast<std::int64_t>(id));
  return nn::softmax_cross_entropy(ids, code_logits);
}

// D on the fakes: logits [n, 1], and with codes the code term on its code head (undefined without).
struct FakeScores {
  Tensor logits, code_term;
};
FakeScores score_fakes(Architecture& arch, const Tensor& fake, const Tensor& labels) {
  // fake [n, H, W, C], labels [n] -> logits [n, 1], code term [] (with codes)
  if (arch.codes == 0) return {arch.discriminate(fake, labels, true), {}};
  const Architecture::Heads heads = arch.discriminate_codes(fake, true);
  return {heads.logits, code_loss(heads.code_logits, labels)};
}

// `loss` with the code term times `weight` added (the loss itself without codes).
Tensor with_code_term(const Tensor& loss, const Tensor& code_term, double weight) {
  return code_term.defined() ? loss + weight * code_term : loss;
}

// Adds the code term (times `weight`) to D's loss on the fakes and to G's; records its value.
void add_code_term(nn::GanLossTerms& losses, const Tensor& code_term, double weight, StepResult& r) {
  if (!code_term.defined()) return;
  r.code_loss = code_term.item();
  losses.d_fake = with_code_term(losses.d_fake, code_term, weight);
  losses.g = with_code_term(losses.g, code_term, weight);
}

// One optimizer update, the gradients averaged over the processes first.
void apply_update(nn::Adam& opt, std::vector<Tensor> grads, const std::vector<tape::Variable>& vars, const DataParallel& p) {
  if (p.average_gradients) grads = p.average_gradients(grads);
  opt.apply_gradients(grads, vars);
}

// D's update from its two loss terms (as far as the options allow), with R1 on the real images.
void update_discriminator(Architecture& arch, nn::Adam& d_opt, tape::GradientTape& d_tape, const nn::GanLossTerms& losses,
                          const RealBatch& real, bool use_real, bool use_fake, double r1_gamma, const DataParallel& parallel) {
  const auto d_vars = arch.discriminator.trainable_variables();
  Tensor d_loss = use_real && use_fake ? losses.d_real + losses.d_fake : use_real ? losses.d_real : losses.d_fake;
  if (r1_gamma > 0 && use_real) d_loss = d_loss + r1_gamma * nn::r1_penalty(critic_of(arch, real.labels), real.images);
  apply_update(d_opt, d_tape.gradient(d_loss, d_vars), d_vars, parallel);
}

// G(z), then D on the real and the fake images (in that order: BatchNorm's moving statistics see
// it), all in training mode; the loss terms and their values.
struct ForwardPass {
  nn::GanLossTerms losses;
  StepResult result;
};
ForwardPass forward_pass(Architecture& arch, const Fakes& fakes, const RealBatch& real, const StepOptions& o) {
  const Tensor fake = generate(arch, fakes);
  const Tensor real_logits = arch.discriminate(real.images, real.labels, true);
  const FakeScores scores = score_fakes(arch, fake, fakes.labels);
  ForwardPass f{nn::gan_losses(o.loss, real_logits, scores.logits, o.real_label), {}};
  f.result.d_loss_real = f.losses.d_real.item();
  f.result.d_loss_fake = f.losses.d_fake.item();
  f.result.g_loss = f.losses.g.item();
  f.result.d_real = mean_probability(real_logits);
  f.result.d_fake = mean_probability(scores.logits);
  add_code_term(f.losses, scores.code_term, o.code_weight, f.result);
  return f;
}

StepResult alternating_step(Architecture& arch, nn::Adam& g_opt, nn::Adam& d_opt, const RealBatch& real, Fakes fakes,
                            tape::Generator& noise_gen, const StepOptions& o) {
  StepResult r;
  tape::GradientTape g_tape;
  Tensor fake;
  {
    std::optional<tape::NoRecord> constant;  // fresh noise: this G(z) only feeds D's step
    if (o.fresh_noise) constant.emplace();
    fake = generate(arch, fakes);
  }
  {
    const auto g_paused = g_tape.stop_recording();  // D's own update is no part of G's gradient
    tape::GradientTape d_tape;                      // begins after G: fake is a constant to it
    const Tensor real_logits = arch.discriminate(real.images, real.labels, true);
    const FakeScores scores = score_fakes(arch, fake, fakes.labels);
    nn::GanLossTerms losses = nn::gan_losses(o.loss, real_logits, scores.logits, o.real_label);
    r.d_loss_real = losses.d_real.item();
    r.d_loss_fake = losses.d_fake.item();
    r.d_real = mean_probability(real_logits);
    // D's half needs the code term in its own loss only; G's term is taken through the updated D below
    losses.d_fake = with_code_term(losses.d_fake, scores.code_term, o.code_weight);
    update_discriminator(arch, d_opt, d_tape, losses, real, true, true, o.r1_gamma, o.parallel);
  }
  if (o.fresh_noise) {
    fakes = fakes_for(arch, real.images.dim(0), noise_gen, o.parallel.shard);
    fake = generate(arch, fakes);
  }
  const FakeScores scores = score_fakes(arch, fake, fakes.labels);  // through the updated D
  Tensor g_loss = nn::generator_loss(o.loss, scores.logits);
  r.g_loss = g_loss.item();
  r.d_fake = mean_probability(scores.logits);
  if (scores.code_term.defined()) r.code_loss = scores.code_term.item();  // through the updated D
  g_loss = with_code_term(g_loss, scores.code_term, o.code_weight);
  const auto g_vars = arch.generator.trainable_variables();
  apply_update(g_opt, g_tape.gradient(g_loss, g_vars), g_vars, o.parallel);
  return r;
}

}  // namespace

StepResult train_step(Architecture& arch, nn::Adam& g_opt, nn::Adam& d_opt, const RealBatch& real,
                      tape::Generator& noise_gen, const StepOptions& o) {
  const Fakes fakes = fakes_for(arch, real.images.dim(0), noise_gen, o.parallel.shard);
  if (o.alternating) {
    if (o.balance) throw tape::ValueError("train_step: alternating updates do not combine with balance");
    return alternating_step(arch, g_opt, d_opt, real, fakes, noise_gen, o);
  }
  tape::GradientTape g_tape, d_tape;  // one forward pass, recorded by both
  const auto [losses, first] = forward_pass(arch, fakes, real, o);
  StepResult r = first;

  const bool use_real = !o.balance || o.train_d_real, use_fake = !o.balance || o.train_d_fake;
  r.g_updated = !o.balance || o.train_g;
  r.d_updated = use_real || use_fake;
  if (r.g_updated) {
    // d_tape watches G's variables too; paused, it does not record G's backward pass (and keep
    // every tensor of it alive) while g_tape differentiates.
    const auto d_paused = d_tape.stop_recording();
    const auto g_vars = arch.generator.trainable_variables();
    apply_update(g_opt, g_tape.gradient(losses.g, g_vars), g_vars, o.parallel);
  }
  if (r.d_updated) update_discriminator(arch, d_opt, d_tape, losses, real, use_real, use_fake, o.r1_gamma, o.parallel);
  return r;
}

// ---------------------------------------------------------------- WGAN-GP
void check_critic(nn::Module& critic, const std::string& arch_name) {
  for (nn::Module* layer : critic.children()) {
    if (dynamic_cast<nn::BatchNorm*>(layer) != nullptr) {
      throw tape::ValueError("wgan-gp: the critic of '" + arch_name + "' has a BatchNorm layer (" + layer->name() +
                             "); the gradient penalty needs a critic without one (tf-tutorial, keras-small, vstark21)");
    }
  }
}

StepResult wgan_gp_step(Architecture& arch, nn::Adam& g_opt, nn::Adam& d_opt, const RealBatch& real,
                        tape::Generator& noise_gen, const WganOptions& o) {
  const std::int64_t b = real.images.dim(0);
  StepResult r;
  const auto d_vars = arch.discriminator.trainable_variables();
  {
    Tensor fake;
    {
      tape::NoRecord no_record;  // the critic update does not differentiate through G
      fake = arch.generate(noise_for(arch, b, noise_gen, o.parallel.shard), real.labels, true);
    }
    const Tensor eps = shard_rows(Tensor::uniform({b * o.parallel.shard.count, 1, 1, 1}, noise_gen), o.parallel.shard);
    tape::GradientTape d_tape;
    const nn::GanLossTerms terms = nn::gan_losses(nn::GanLoss::wasserstein, arch.discriminate(real.images, real.labels, true),
                                                  arch.discriminate(fake, real.labels, true));
    const Tensor penalty = nn::gradient_penalty(critic_of(arch, real.labels), real.images, fake, eps);
    const Tensor d_loss = terms.d_fake + terms.d_real + o.gp_weight * penalty;
    apply_update(d_opt, d_tape.gradient(d_loss, d_vars), d_vars, o.parallel);
    r.d_loss_real = terms.d_real.item();
    r.d_loss_fake = terms.d_fake.item();
    r.d_real = -r.d_loss_real;
    r.d_fake = r.d_loss_fake;
    r.g_loss = terms.g.item();
  }
  r.g_updated = o.train_g;
  if (o.train_g) {
    const Fakes fakes = fakes_for(arch, b, noise_gen, o.parallel.shard);
    const auto g_vars = arch.generator.trainable_variables();
    tape::GradientTape g_tape;
    const Tensor g_loss =
        nn::generator_loss(nn::GanLoss::wasserstein, arch.discriminate(generate(arch, fakes), fakes.labels, true));
    apply_update(g_opt, g_tape.gradient(g_loss, g_vars), g_vars, o.parallel);
    r.g_loss = g_loss.item();
  }
  return r;
}

// ---------------------------------------------------------------- seed 004's gated loop
namespace {

// The losses seed 004's loop starts from: g 0, d 1 and 1 (so its first run trains D on fakes).
const StepResult kGatedStart = [] {
  StepResult r;
  r.d_loss_real = 1.0;
  r.d_loss_fake = 1.0;
  r.g_loss = 0.0;
  return r;
}();

// One run of seed 004's loop: fresh noise, the three losses on the current weights, then one
// update: of G (g_loss) or of D on one of its loss terms.
enum class GatedPart { d_fake, g, d_real };
StepResult gated_run(Architecture& arch, nn::Adam& opt, GatedPart part, const RealBatch& real, tape::Generator& noise_gen,
                     const StepOptions& o) {
  tape::GradientTape tape;
  const auto [losses, r] = forward_pass(arch, fakes_for(arch, real.images.dim(0), noise_gen, o.parallel.shard), real, o);
  const auto vars = part == GatedPart::g ? arch.generator.trainable_variables() : arch.discriminator.trainable_variables();
  const Tensor& loss = part == GatedPart::g ? losses.g : part == GatedPart::d_fake ? losses.d_fake : losses.d_real;
  apply_update(opt, tape.gradient(loss, vars), vars, o.parallel);
  return r;
}

}  // namespace

StepResult gated_step(Architecture& arch, nn::Adam& g_opt, nn::Adam& d_fake_opt, nn::Adam& d_real_opt, const RealBatch& real,
                      tape::Generator& noise_gen, const StepOptions& o, const StepResult& latest, GatedUpdates* updated) {
  StepResult r = latest;
  GatedUpdates done;
  if (r.d_loss_fake > 0.6) r = gated_run(arch, d_fake_opt, GatedPart::d_fake, real, noise_gen, o), done.d_fake = true;
  if (r.g_loss > 0.5) r = gated_run(arch, g_opt, GatedPart::g, real, noise_gen, o), done.g = true;
  if (r.d_loss_real > 0.45) r = gated_run(arch, d_real_opt, GatedPart::d_real, real, noise_gen, o), done.d_real = true;
  r.g_updated = done.g;
  r.d_updated = done.d_fake || done.d_real;
  if (updated) *updated = done;
  return r;
}

// ---------------------------------------------------------------- the run
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }

// The options of step number `step` (counting from 0): lazy R1 on every r1_every-th step with its
// weight scaled by r1_every (StyleGAN2's regularization interval); seed 004's thresholds, which
// train each part only while its loss is above them.
StepOptions step_options(const TrainConfig& c, std::int64_t step, const StepResult* last) {
  const bool r1_now = (step + 1) % c.r1_every == 0;
  StepOptions o{c.loss == "hinge" ? GanLoss::hinge : GanLoss::bce, c.real_label, c.balance,
                r1_now ? c.r1_gamma * static_cast<double>(c.r1_every) : 0.0, c.updates != "simultaneous", c.updates == "alternating-fresh"};
  o.code_weight = c.code_weight;
  if (c.balance && last) {
    o.train_d_fake = last->d_loss_fake > 0.6;
    o.train_g = last->g_loss > 0.5;
    o.train_d_real = last->d_loss_real > 0.45;
  }
  return o;
}

tape::data::Dataset load_training_data(const TrainConfig& c) {
  tape::data::Dataset ds = tape::data::load_dataset(c.dataset, c.data_dir, true, c.verify_checksums);
  if (c.split != "train" && c.split != "train+test") {
    throw tape::ValueError("train: --split must be train or train+test, got '" + c.split + "'");
  }
  if (c.split == "train+test") {
    const tape::data::Dataset test = tape::data::load_dataset(c.dataset, c.data_dir, false, c.verify_checksums);
    ds.images = tape::concat({ds.images, test.images}, 0);
    ds.labels.insert(ds.labels.end(), test.labels.begin(), test.labels.end());
    ds.name += "+test";
  }
  if (c.digit >= 0) ds = tape::data::filter_class(ds, c.digit);
  if (c.max_images > 0 && c.max_images < ds.size()) {
    ds.images = tape::slice(ds.images, {0, 0, 0, 0}, {c.max_images, -1, -1, -1});
    ds.labels.resize(static_cast<std::size_t>(c.max_images));
  }
  return ds;
}

// A metadata field of `checkpoint` as an integer in [0, limit]: all digits, no sign, no spaces.
std::int64_t metadata_count(const std::map<std::string, std::string>& meta, const std::string& checkpoint,
                            const std::string& key, std::int64_t limit = std::numeric_limits<std::int64_t>::max()) {
  const auto it = meta.find(key);
  if (it == meta.end()) throw tape::IOError(checkpoint + " has no '" + key + "' in its metadata");
  const std::string& text = it->second;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0 || value > limit) {
    throw tape::IOError(checkpoint + ": metadata '" + key + "' is '" + text + "', not a count in [0, " +
                        std::to_string(limit) + "]");
  }
  return value;
}

}  // namespace

std::int64_t batch_of_run_config(const std::string& path, std::int64_t fallback) {
  std::ifstream f(path);
  if (!f) return fallback;
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return fallback;
  // Only an integer JSON number is a batch: nlohmann converts a float to an integer with a plain
  // cast, undefined beyond the integer's range (a fuzz finding: "batch": 5.8e52).
  const auto batch = j.find("batch");
  if (batch == j.end() || !batch->is_number_integer()) return fallback;
  if (batch->is_number_unsigned()) {
    const auto value = batch->get<std::uint64_t>();
    return value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? static_cast<std::int64_t>(value)
                                                                                          : fallback;
  }
  return batch->get<std::int64_t>();
}

ResumePosition resume_position(const std::map<std::string, std::string>& meta, const std::string& checkpoint,
                               const std::string& config_path, std::int64_t fallback_batch) {
  ResumePosition p;
  p.step = metadata_count(meta, checkpoint, "step");
  p.epoch = metadata_count(meta, checkpoint, "epoch");
  if (meta.count("image_in_epoch")) {
    p.image_in_epoch = metadata_count(meta, checkpoint, "image_in_epoch");
  } else {
    const std::int64_t batch = batch_of_run_config(config_path, fallback_batch);
    if (batch < 1) throw tape::IOError(config_path + ": batch " + std::to_string(batch) + " is not positive");
    p.image_in_epoch = metadata_count(meta, checkpoint, "batch_in_epoch", std::numeric_limits<std::int64_t>::max() / batch) * batch;
  }
  const auto losses = meta.find("last_losses");
  if (losses != meta.end()) {
    StepResult r;
    if (std::sscanf(losses->second.c_str(), "%la,%la,%la", &r.d_loss_real, &r.d_loss_fake, &r.g_loss) != 3) {
      throw tape::IOError(checkpoint + " has unreadable last_losses '" + losses->second + "'");
    }
    p.last = r;
  }
  return p;
}

std::vector<TrainConfig::BatchChange> parse_batch_changes(const std::string& text) {
  try {
    return tape::data::BatchSchedule::parse(text);
  } catch (const tape::ValueError& e) {
    throw tape::ValueError(std::string("--batch-from: ") + e.what());
  }
}

std::int64_t images_in_steps(const TrainConfig& c, std::int64_t steps) { return batch_schedule(c).images_in(steps); }

tape::data::BatchSchedule batch_schedule(const TrainConfig& c) {
  try {
    return tape::data::BatchSchedule(c.batch, c.batch_from);
  } catch (const tape::ValueError& e) {
    throw tape::ValueError(std::string("train: --batch-from: ") + e.what());
  }
}

namespace {

// The weight average's decay after update `step` (from 1): TensorFlow's warm-up
// min(ema, (1 + step) / (10 + step)), or with ema_start a plain copy of G up to that step and
// exactly `ema` after it (the warm-up keeps the window near step / 9 for ~9 / (1 - ema) steps).
double average_decay(const TrainConfig& c, std::int64_t step) {
  if (c.ema_start > 0) return step <= c.ema_start ? 0.0 : c.ema;
  return nn::moving_average_decay(c.ema, step);
}

double generator_lr(const TrainConfig& c) { return c.g_lr > 0 ? c.g_lr : c.lr; }
double discriminator_lr(const TrainConfig& c) { return c.d_lr > 0 ? c.d_lr : c.lr; }

// The schedule of an optimizer that makes `updates` updates in the run.
nn::LearningRateSchedule schedule_for(const TrainConfig& c, double lr, std::int64_t updates) {
  const auto start = static_cast<std::int64_t>(std::llround(c.lr_decay_start * static_cast<double>(updates)));
  return nn::LearningRateSchedule::from_name(c.lr_schedule, lr, std::min(start, updates - 1), std::max<std::int64_t>(updates, 1),
                                             c.lr_final);
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

int columns_for(int n) {
  int c = 1;
  while (c * c < n) ++c;
  return c;
}

struct Run {
  TrainConfig config;
  RunFiles files;
  nn::CheckpointManager checkpoints;
  Architecture arch;
  nn::Adam g_opt, d_opt;
  nn::Adam d_real_opt;  // --updates gated: D's second Adam, on its real loss (d_opt takes the fake one)
  bool gated;
  tape::Generator noise_gen;
  Tensor fixed_noise;
  Tensor fixed_labels;  // conditional (codes): the class (code) of each grid image, one per row
  std::int64_t step = 0, epoch = 0, image_in_epoch = 0;
  std::optional<StepResult> last;  // the previous step's result (steers --balance)
  std::optional<nn::Sequential> g_ema;  // the moving average of G's weights (--ema)

  Run(const TrainConfig& c, Architecture a, std::optional<nn::Sequential> average)
      : config(c), files(c.out), checkpoints(files.checkpoint_dir(), std::max(c.keep_checkpoints, 1)), arch(std::move(a)),
        g_opt({.learning_rate = generator_lr(c), .beta1 = c.beta1, .beta2 = c.beta2}),
        d_opt({.learning_rate = discriminator_lr(c), .beta1 = c.beta1, .beta2 = c.beta2}),
        d_real_opt({.learning_rate = discriminator_lr(c), .beta1 = c.beta1, .beta2 = c.beta2}), gated(c.updates == "gated"),
        noise_gen(c.seed * 0x9E3779B97F4A7C15ull + 1), g_ema(std::move(average)) {
    tape::Generator fixed(c.seed * 0x9E3779B97F4A7C15ull + 2);
    fixed_noise = arch.sample_noise(grid_images(), fixed);
    fixed_labels = arch.class_rows(c.samples);
  }

  // Images in each grid: `samples`, or `samples` per class.
  std::int64_t grid_images() const { return arch.takes_labels() ? arch.label_count() * config.samples : config.samples; }
  int grid_columns() const { return arch.takes_labels() ? config.samples : columns_for(config.samples); }

  std::vector<std::pair<std::string, tape::Generator*>> generators() {
    std::vector<std::pair<std::string, tape::Generator*>> gens{{"noise", &noise_gen}};
    for (auto& g : arch.generator.named_generators()) gens.push_back(g);
    for (auto& g : arch.discriminator.named_generators()) gens.push_back(g);
    return gens;
  }

  std::map<std::string, std::string> metadata() const {
    std::map<std::string, std::string> m{{"step", std::to_string(step)},         {"epoch", std::to_string(epoch)},
                                         {"image_in_epoch", std::to_string(image_in_epoch)}, {"arch", config.arch},
                                         {"dataset", config.dataset},            {"z_dim", std::to_string(config.z_dim)},
                                         {"noise", config.noise},                {"data_range", name_of(arch.range)},
                                         {"seed", std::to_string(config.seed)},  {"program", "tape dcgan " TAPE_DCGAN_VERSION}};
    // The last step's losses steer --balance; saved exactly (hex floats) so a resumed run decides alike.
    if (arch.conditional()) m["classes"] = std::to_string(arch.classes);
    if (arch.codes > 0) m["codes"] = std::to_string(arch.codes);
    if (last) {
      m["last_losses"] = hex(last->d_loss_real) + "," + hex(last->d_loss_fake) + "," + hex(last->g_loss);
    }
    return m;
  }

  static std::string hex(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", v);
    return buf;
  }

  void save_checkpoint() {
    std::vector<nn::CheckpointEntry> entries{{"generator", &arch.generator, &g_opt},
                                             {"discriminator", &arch.discriminator, &d_opt}};
    if (g_ema) entries.push_back({"generator_ema", &*g_ema, nullptr});
    if (gated) entries.push_back({"discriminator_real", &arch.discriminator, &d_real_opt, false});
    checkpoints.save(step, entries, {metadata(), generators()});
  }

  void restore(const std::string& path) {
    check_labels_match(path);
    std::vector<nn::CheckpointTarget> targets{{"generator", &arch.generator, &g_opt},
                                              {"discriminator", &arch.discriminator, &d_opt}};
    if (g_ema) targets.push_back({"generator_ema", &*g_ema, nullptr});
    if (gated) targets.push_back({"discriminator_real", &arch.discriminator, &d_real_opt, false});
    const ResumePosition p = resume_position(nn::load_checkpoint(path, targets, generators()), path,
                                             files.config_path(), config.batch);
    step = p.step;
    epoch = p.epoch;
    image_in_epoch = p.image_in_epoch;
    last = p.last;
  }

  // A checkpoint of a conditional run (or one with codes) resumes only as one, with its number of
  // classes (codes).
  void check_labels_match(const std::string& path) const {
    const auto meta = nn::load_safetensors(path).metadata;
    const auto saved_count = [&meta](const char* key) {
      const auto it = meta.find(key);
      return it == meta.end() ? std::string("0") : it->second;
    };
    const std::string saved = saved_count("classes"), saved_codes = saved_count("codes");
    if (saved != std::to_string(arch.classes)) {
      throw tape::ValueError("train --resume: " + path + " is of a run with " + (saved == "0" ? "no" : saved) +
                             " classes (--conditional " + (saved == "0" ? "off" : "on") + "), this one has " +
                             std::to_string(arch.classes) + ": resume with the same --conditional");
    }
    if (saved_codes != std::to_string(arch.codes)) {
      throw tape::ValueError("train --resume: " + path + " is of a run with --codes " + saved_codes + ", this one has --codes " +
                             std::to_string(arch.codes) + ": resume with the same --codes");
    }
  }

  // The generator that grids and metrics show: the weight average when there is one.
  nn::Sequential& shown_generator() { return g_ema ? *g_ema : arch.generator; }
  Tensor samples() { return arch.to_signed(arch.generate(shown_generator(), fixed_noise, fixed_labels, false)); }  // [-1, 1]

  // Seed 004's "Fake Evaluation": the mean logit D gives a fresh batch of fakes (inference mode,
  // its own noise from the seed and the step, so TensorBoard does not change the training).
  double fake_evaluation(std::int64_t batch) {
    tape::NoRecord no_record;
    tape::Generator gen(config.seed * 0x9E3779B97F4A7C15ull + 3 + static_cast<std::uint64_t>(step) * 0x2545F4914F6CDD1Dull);
    const Tensor z = arch.sample_noise(batch, gen), labels = arch.sample_labels(batch, gen);
    return tape::mean(arch.discriminate(arch.generate(z, labels, false), labels, false)).item();
  }
};

// The classifier --eval-every uses: --classifier, or the dataset's own ("" for a dataset without one).
std::string resolved_classifier(const TrainConfig& c) {
  return examples::has_classifier(c.dataset) || !c.classifier.empty() ? examples::classifier_path(c.dataset, c.classifier) : "";
}

void write_config(const TrainConfig& c, const std::string& path, std::int64_t steps_per_epoch, std::int64_t total,
                  int processes) {
  nlohmann::json j = c;  // every option, then what the run resolved them to
  j.update({{"program", "tape dcgan"}, {"version", TAPE_DCGAN_VERSION}, {"total_steps", total},
            {"steps_per_epoch", steps_per_epoch}, {"g_lr", generator_lr(c)}, {"d_lr", discriminator_lr(c)},
            {"threads", tape::num_threads()}, {"processes", processes}, {"classifier", resolved_classifier(c)}});
  tape::io::write_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace

namespace {

// --codes: 0 or at least 2 values, a finite weight >= 0 (only with codes), and not with labels,
// WGAN-GP, gated updates or balance.
void check_code_options(const TrainConfig& c) {
  if (c.codes == 1) throw tape::ValueError("train: --codes 1 is a code of one value, which tells nothing; give 0 or >= 2");
  if (!(c.code_weight >= 0.0 && std::isfinite(c.code_weight))) {
    throw tape::ValueError("train: --code-weight must be finite and >= 0, got " + std::to_string(c.code_weight));
  }
  if (c.codes == 0 && c.code_weight != 1.0) throw tape::ValueError("train: --code-weight needs --codes");
  if (c.codes == 0) return;
  const std::string clash = c.conditional ? "--conditional" : c.loss == "wgan-gp" ? "--loss wgan-gp"
                            : c.updates == "gated"                  ? "--updates gated"
                            : c.balance                             ? "--balance"
                                                                    : "";
  if (!clash.empty()) {
    throw tape::ValueError("train: --codes is for unconditional bce or hinge runs with simultaneous or alternating updates, "
                           "not with " + clash);
  }
}

// A step's losses on the progress bar's live line and on its plain lines.
std::string live_fields(const StepResult& r) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "d %.3f/%.3f  g %.3f", r.d_loss_real, r.d_loss_fake, r.g_loss);
  return buf;
}
std::string log_fields(const StepResult& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "d_loss_real %.4f  d_loss_fake %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f", r.d_loss_real,
                r.d_loss_fake, r.g_loss, r.d_real, r.d_fake);
  if (!r.code_loss) return buf;
  char code[48];
  std::snprintf(code, sizeof code, "  code_loss %.4f", *r.code_loss);
  return buf + std::string(code);
}

// Stops a run whose losses are no longer finite (its weights are then garbage) before anything is
// saved from it, naming the last checkpoint, which stays as it was.
void check_losses_finite(const StepResult& r, std::int64_t step, const std::optional<std::string>& last_checkpoint) {
  if (std::isfinite(r.d_loss_real) && std::isfinite(r.d_loss_fake) && std::isfinite(r.g_loss) &&
      (!r.code_loss || std::isfinite(*r.code_loss)))
    return;
  throw tape::NumericsError("train: the losses of step " + std::to_string(step) + " are not finite (" + log_fields(r) +
                            "); stopped without saving it. " +
                            (last_checkpoint ? "The last checkpoint, " + *last_checkpoint + ", is intact: go on from it with --resume"
                                             : std::string("There is no checkpoint yet: start again")) +
                            " and a lower --lr, or with --check-numerics to find the op that made the first NaN or Inf");
}

// Every batch of the schedule splits into the group's shards, or ValueError naming the option.
void check_batches_split(const TrainConfig& c, const tape::BatchShard& shard) {
  auto check = [&](std::int64_t batch, const std::string& option) {
    if (batch % shard.count != 0) {
      throw tape::ValueError("train: " + option + " " + std::to_string(batch) + " does not split into " +
                             std::to_string(shard.count) + " equal shares, one per process: give a multiple of " +
                             std::to_string(shard.count));
    }
  };
  check(c.batch, "--batch");
  for (const auto& change : c.batch_from) check(change.batch, "--batch-from's batch");
}

// The step's losses averaged over the processes (each holds its shard's means, so the average is
// the global batch's), and whether any process wants to stop (Ctrl-C, keep_going): every process
// gets the same answers, so they log, balance and stop alike.
bool agree(StepResult& r, bool wants_stop, const ProcessGroup& group) {
  const std::vector<double> sums = group.sum({r.d_loss_real, r.d_loss_fake, r.g_loss, r.d_real, r.d_fake,
                                              r.code_loss.value_or(0.0), wants_stop ? 1.0 : 0.0});
  const double n = group.size;
  r.d_loss_real = sums[0] / n;
  r.d_loss_fake = sums[1] / n;
  r.g_loss = sums[2] / n;
  r.d_real = sums[3] / n;
  r.d_fake = sums[4] / n;
  if (r.code_loss) r.code_loss = sums[5] / n;
  return sums[6] > 0.0;
}

// After rank 0 restored a checkpoint (or built a fresh run), every process takes its position,
// weights, optimizer states and generator states. Scalars travel as sums to which the other
// processes add zeros (exact in doubles).
void share_run_state(Run& run, const ProcessGroup& group) {
  const bool root = group.is_root();
  const bool has_last = run.last.has_value();
  const StepResult last = run.last.value_or(StepResult{});
  auto mine = [&](double v) { return root ? v : 0.0; };
  const std::vector<double> s = group.sum({mine(double(run.step)), mine(double(run.epoch)), mine(double(run.image_in_epoch)),
                                           mine(has_last ? 1.0 : 0.0), mine(last.d_loss_real), mine(last.d_loss_fake),
                                           mine(last.g_loss)});
  run.step = static_cast<std::int64_t>(s[0]);
  run.epoch = static_cast<std::int64_t>(s[1]);
  run.image_in_epoch = static_cast<std::int64_t>(s[2]);
  if (s[3] > 0.0) {
    StepResult r;
    r.d_loss_real = s[4];
    r.d_loss_fake = s[5];
    r.g_loss = s[6];
    run.last = r;
  } else {
    run.last.reset();
  }
  group.broadcast_variables(run.arch.generator.variables());
  group.broadcast_variables(run.arch.discriminator.variables());
  group.broadcast_optimizer(run.g_opt);
  group.broadcast_optimizer(run.d_opt);
  std::vector<tape::Generator*> gens;
  for (auto& [name, gen] : run.generators()) gens.push_back(gen);
  group.broadcast_generators(gens);
}

}  // namespace

int train(const TrainConfig& c, const ProcessGroup* group) {
  const bool parallel = group != nullptr && group->size > 1;
  const bool root = !parallel || group->is_root();
  const tape::BatchShard shard = parallel ? group->shard() : tape::BatchShard{};
  if (c.threads > 0) tape::set_num_threads(c.threads);
  std::optional<tape::CheckNumerics> anomaly_mode;
  if (c.check_numerics) anomaly_mode.emplace(true);
  if (c.batch < 1) throw tape::ValueError("train: --batch must be >= 1");
  check_code_options(c);  // before the data loads
  const tape::data::Dataset data = load_training_data(c);
  const std::int64_t n = data.size();
  const std::int64_t steps_per_epoch = c.keep_partial_batch ? (n + c.batch - 1) / c.batch : n / c.batch;
  if (steps_per_epoch < 1) {
    throw tape::ValueError("train: " + std::to_string(n) + " images do not fill one batch of " + std::to_string(c.batch));
  }
  const std::int64_t total = c.steps > 0 ? c.steps : steps_per_epoch * std::max<std::int64_t>(c.epochs, 1);
  const tape::data::BatchSchedule schedule = batch_schedule(c);
  check_batches_split(c, shard);
  if (schedule.largest() > n) {
    throw tape::ValueError("train: --batch-from: a batch of " + std::to_string(schedule.largest()) + " is more than the " +
                           std::to_string(n) + " images of the data set");
  }

  const std::optional<DataRange> range = c.data_range.empty() ? std::nullopt : std::optional(data_range_of(c.data_range));
  const std::int64_t classes = c.conditional ? kDatasetClasses : 0;
  Architecture arch = make_architecture(c.arch, c.z_dim, c.seed, range, classes, c.codes);
  arch.noise = noise_prior_of(c.noise);
  if (std::vector<std::int64_t>(data.images.shape().begin() + 1, data.images.shape().end()) != arch.image_shape) {
    throw tape::ShapeError("train: architecture '" + c.arch + "' makes images " + tape::Shape(arch.image_shape).to_string() +
                           " but the dataset has " + data.images.shape().to_string());
  }
  if (c.loss != "bce" && c.loss != "hinge" && c.loss != "wgan-gp") {
    throw tape::ValueError("train: unknown --loss '" + c.loss + "' (bce, hinge, wgan-gp)");
  }
  if (c.updates != "simultaneous" && c.updates != "alternating" && c.updates != "alternating-fresh" && c.updates != "gated") {
    throw tape::ValueError("train: unknown --updates '" + c.updates + "' (simultaneous, alternating, alternating-fresh, gated)");
  }
  if (c.keep_partial_batch && parallel) {
    throw tape::ValueError("train: --keep-partial-batch runs in one process only (an epoch's last batch need not split "
                           "evenly over the processes)");
  }
  if (c.updates == "gated" && parallel) {
    throw tape::ValueError("train: --updates gated decides each update from the losses of the run before it; it runs in "
                           "one process only, not under mpirun");
  }
  if (c.updates != "simultaneous" && (c.balance || c.loss == "wgan-gp")) {
    throw tape::ValueError("train: --updates " + c.updates + " is for --loss bce or hinge without --balance");
  }
  if (c.loss == "hinge" && c.real_label != 1.0) {
    throw tape::ValueError("train: --label-smoothing is for --loss bce (hinge has no labels to smooth); the default "
                           "preset smooths real labels to 0.9: add --label-smoothing 1");
  }
  if (!(c.lr_decay_start >= 0.0 && c.lr_decay_start < 1.0)) {
    throw tape::ValueError("train: --lr-decay-start must be a fraction in [0, 1), got " + std::to_string(c.lr_decay_start));
  }
  if (c.loss == "wgan-gp") check_critic(arch.discriminator, c.arch);
  if (c.r1_every < 1) throw tape::ValueError("train: --r1-every must be >= 1, got " + std::to_string(c.r1_every));
  if (c.n_critic < 1) throw tape::ValueError("train: --n-critic must be >= 1, got " + std::to_string(c.n_critic));
  if (c.ema < 0.0 || c.ema >= 1.0) throw tape::ValueError("train: --ema must be in [0, 1), got " + std::to_string(c.ema));
  if (parallel) {
    group->prepare(arch.generator);
    group->prepare(arch.discriminator);
  }
  std::optional<nn::Sequential> average;
  if (c.ema > 0.0 && root) {  // only rank 0 shows, scores and saves G
    average = make_architecture(c.arch, c.z_dim, c.seed, range, classes, c.codes).generator;  // built alike: G's layer names
    nn::update_moving_average(*average, arch.generator, 0.0);  // starts as a copy of G
  }
  Run run(c, std::move(arch), std::move(average));
  if (c.lr_schedule != "constant") {
    const std::int64_t g_updates = c.loss == "wgan-gp" ? total / c.n_critic : total;
    run.g_opt.set_learning_rate_schedule(schedule_for(c, generator_lr(c), std::max<std::int64_t>(g_updates, 1)));
    run.d_opt.set_learning_rate_schedule(schedule_for(c, discriminator_lr(c), total));
    run.d_real_opt.set_learning_rate_schedule(schedule_for(c, discriminator_lr(c), total));
  }
  if (root) run.files.create();
  if (c.resume && root) {
    for (const std::string& dir : {c.out, run.files.samples_dir(), run.files.checkpoint_dir(), run.files.tensorboard_dir()})
      tape::io::remove_stale_temporaries(dir);  // left by a run that was killed while writing
    const auto latest = run.checkpoints.latest();
    if (!latest) throw tape::IOError("train --resume: no checkpoint in " + run.files.checkpoint_dir());
    run.restore(*latest);
    run.files.load_history(run.step);
    std::cout << "Resumed from " << *latest << " at step " << run.step << " (epoch " << run.epoch + 1 << ")" << std::endl;
  } else if (root) {
    run.files.start_history();
  }
  if (parallel) share_run_state(run, *group);
  if (root) {
    write_config(c, run.files.config_path(), steps_per_epoch, total, parallel ? group->size : 1);
    run.arch.generator.summary(std::cout);
    run.arch.discriminator.summary(std::cout);
    std::cout << "Training " << c.arch << " on " << c.dataset << " (" << n << " images, batch " << c.batch << ", "
              << total << " steps, " << tape::num_threads() << " threads"
              << (parallel ? " in each of " + std::to_string(group->size) + " processes" : std::string()) << ") -> " << c.out
              << "\n";
  }

  std::unique_ptr<tape::summary::EventWriter> events;
  if (c.tensorboard && root) events = std::make_unique<tape::summary::EventWriter>(run.files.tensorboard_dir());
  g_interrupted = false;
  auto previous = std::signal(SIGINT, on_sigint);
  std::optional<decltype(previous)> previous_term;  // mpirun passes Ctrl-C on to the processes as SIGTERM
  if (parallel) previous_term = std::signal(SIGTERM, on_sigint);
  tape::summary::ProgressBar progress(total, n, isatty(STDOUT_FILENO) != 0, c.log_every);
  const std::int64_t images_total = schedule.images_in(total);
  std::int64_t images_done = schedule.images_in(run.step);
  const int cols = run.grid_columns();
  auto save_grid = [&](const std::string& path) {
    tape::NoRecord no_record;
    tape::io::Image grid = tape::io::make_grid(run.samples(), cols, 2, data.images.dim(1) <= 32 ? 4 : 1);
    tape::io::write_png(path, grid);
    return grid;
  };

  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<MetricsLog> metrics_log;
  if (c.eval_every > 0 && root) {
    if (!examples::has_classifier(c.dataset)) {
      throw tape::ValueError("train: --eval-every needs --dataset mnist or fashion-mnist (the datasets with a "
                             "classifier), got --dataset " + c.dataset);
    }
    evaluator = std::make_unique<Evaluator>(examples::classifier_path(c.dataset, c.classifier), c.dataset, c.data_dir, c.eval_n,
                                            c.verify_checksums);
    metrics_log = std::make_unique<MetricsLog>(c.out, evaluator->real_report(), evaluator->score_label());
    metrics_log->start(c.resume, run.step);
  }
  auto evaluate_now = [&] {
    const QualityReport r = evaluate_generator(*evaluator, run.arch, run.shown_generator(), {.seed = c.seed + 0xE7A1});
    metrics_log->append(run.step, run.files.history().empty() ? 0.0 : run.files.history().back().wall_time, r);
    std::printf("step %lld: %s %.3f (real %.3f), FID %.2f, precision %.3f, recall %.3f, %d classes%s\n",
                static_cast<long long>(run.step), evaluator->score_label().c_str(), r.score,
                evaluator->real_report().score, r.fid, r.precision, r.recall, r.classes_present,
                r.class_accuracy.empty() ? "" : (", label accuracy " + percent(r.label_accuracy)).c_str());
    std::fflush(stdout);
  };
  if (evaluator && run.step == 0) evaluate_now();

  auto epoch_start = std::chrono::steady_clock::now();
  tape::data::EpochBatches batches(data, c.seed, shard);
  batches.keep_last_partial_batch(c.keep_partial_batch);
  batches.seek(run.epoch, run.image_in_epoch);
  const DataParallel data_parallel{shard, parallel ? group->average_gradients : GradientAverage()};
  bool stop = false;
  while (run.step < total && !stop && (parallel || !g_interrupted)) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::int64_t> rows = batches.next_indices(schedule.batch_at(run.step), schedule.batch_at(run.step + 1));
    const RealBatch real(run.arch.from_signed(tape::data::gather_images(data, rows)),
                         run.arch.conditional() ? tape::data::gather_labels(data, rows) : Tensor());
    const std::int64_t batch = real.images.dim(0) * shard.count;  // global: every process's shards together (an epoch's last may be smaller)
    StepOptions options = step_options(c, run.step, run.last ? &*run.last : nullptr);
    options.parallel = data_parallel;
    StepResult r = c.loss == "wgan-gp"
                       ? wgan_gp_step(run.arch, run.g_opt, run.d_opt, real, run.noise_gen,
                                      {.gp_weight = c.gp_weight, .train_g = (run.step + 1) % c.n_critic == 0,
                                       .parallel = data_parallel})
                   : run.gated ? gated_step(run.arch, run.g_opt, run.d_opt, run.d_real_opt, real, run.noise_gen, options,
                                            run.last.value_or(kGatedStart))
                               : train_step(run.arch, run.g_opt, run.d_opt, real, run.noise_gen, options);
    ++run.step;
    const bool wants_stop = g_interrupted || (c.keep_going && !c.keep_going(run.step));
    stop = parallel ? agree(r, wants_stop, *group) : wants_stop;
    run.last = r;
    if (run.g_ema) nn::update_moving_average(*run.g_ema, run.arch.generator, average_decay(c, run.step));
    run.epoch = batches.epoch();
    run.image_in_epoch = batches.image_in_epoch();
    check_losses_finite(r, run.step, root ? run.checkpoints.latest() : std::nullopt);
    if (!root) continue;  // rank 0 alone logs and writes
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double images_per_second = double(batch) / std::max(seconds, 1e-9);
    run.files.append_losses({run.step, run.epoch + (run.image_in_epoch == 0 ? 0 : 1), r.d_loss_real, r.d_loss_fake,
                             r.g_loss, r.d_real, r.d_fake, images_per_second});
    images_done += batch;
    progress.update({.step = run.step, .epoch = run.epoch + (run.image_in_epoch == 0 ? 0 : 1),
                     .sample_in_epoch = run.image_in_epoch, .batch = batch, .samples_done = images_done,
                     .samples_total = images_total},
                    live_fields(r), log_fields(r), images_per_second);
    if (events && run.step % c.tensorboard_every == 0) {
      events->add_scalar("d_loss_real", run.step, r.d_loss_real);
      events->add_scalar("d_loss_fake", run.step, r.d_loss_fake);
      events->add_scalar("g_loss", run.step, r.g_loss);
      if (r.code_loss) events->add_scalar("code_loss", run.step, *r.code_loss);
      events->add_scalar("fake_evaluation", run.step, run.fake_evaluation(batch));
      tape::NoRecord no_record;
      tape::io::Image grid = tape::io::make_grid(run.samples(), cols, 2, 1);
      events->add_image("generated", run.step, tape::io::encode_png(grid), grid.height, grid.width, grid.channels);
    }
    if (c.sample_every > 0 && run.step % c.sample_every == 0) save_grid(run.files.step_sample_path(run.step));
    const bool epoch_done = run.image_in_epoch == 0;
    if (epoch_done) {
      const double epoch_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      save_grid(run.files.epoch_sample_path(run.epoch));
      progress.epoch_done(run.epoch, epoch_seconds);
      epoch_start = std::chrono::steady_clock::now();
    }
    if (epoch_done || run.step % c.checkpoint_every == 0 || run.step == total) run.save_checkpoint();
    if (evaluator && (run.step % c.eval_every == 0 || run.step == total)) evaluate_now();
  }
  std::signal(SIGINT, previous);
  if (previous_term) std::signal(SIGTERM, *previous_term);
  if (!root) return 0;
  stop = stop || g_interrupted;
  progress.finish();
  // A run that stops mid-epoch still shows where it got to, as the grid of the epoch under way.
  if (run.image_in_epoch != 0) save_grid(run.files.epoch_sample_path(run.epoch + 1));
  if (stop && run.checkpoints.latest() != run.checkpoints.path(run.step)) run.save_checkpoint();
  run.files.write_gif();
  run.files.write_loss_plot();
  if (stop) {
    std::cout << "Interrupted: checkpoint saved at step " << run.step << "; continue with --resume.\n";
  } else {
    std::cout << "Done: " << run.step << " steps. Samples in " << run.files.samples_dir() << ", progress.gif, losses.png\n";
  }
  return 0;
}

void render(const std::string& out_dir) {
  RunFiles files(out_dir);
  files.load_history(std::numeric_limits<std::int64_t>::max());
  files.write_gif();
  files.write_loss_plot();
}

Architecture load_generator(const std::string& checkpoint, bool raw) {
  const nn::TensorFile file = nn::load_safetensors(checkpoint);
  const auto& meta = file.metadata;
  auto field = [&](const char* key) {
    auto it = meta.find(key);
    if (it == meta.end()) throw tape::IOError(checkpoint + " has no '" + key + "' in its metadata");
    return it->second;
  };
  const auto range = meta.find("data_range");  // checkpoints written before 2026-11-29: the architecture's own
  const std::int64_t classes = meta.count("classes") ? metadata_count(meta, checkpoint, "classes", kMaxClasses) : 0;
  const std::int64_t codes = meta.count("codes") ? metadata_count(meta, checkpoint, "codes", kMaxClasses) : 0;
  Architecture arch = make_architecture(field("arch"), metadata_count(meta, checkpoint, "z_dim", kMaxZDim), 0,
                                        range == meta.end() ? std::nullopt : std::optional(data_range_of(range->second)),
                                        classes, codes);
  const auto noise = meta.find("noise");  // checkpoints written before 2026-11-29: normal
  if (noise != meta.end()) arch.noise = noise_prior_of(noise->second);
  const bool has_average = std::any_of(file.tensors.begin(), file.tensors.end(),
                                      [](const auto& t) { return t.first.rfind("generator_ema/", 0) == 0; });
  nn::load_checkpoint(checkpoint, {{has_average && !raw ? "generator_ema" : "generator", &arch.generator, nullptr}});
  return arch;
}

void sample(const std::string& checkpoint, std::int64_t n, const NoiseOptions& noise, const std::string& out, bool raw) {
  if (n < 1) throw tape::ValueError("sample: --n must be >= 1, got " + std::to_string(n));
  Architecture arch = load_generator(checkpoint, raw);
  const SampleFormat format = sample_format_of(out);
  // A conditional generator (one with codes): a grid has one row per class (code) of
  // ceil(n / classes) images (n rounded up to fill them); in files image i is of class (code)
  // i % classes.
  const std::int64_t per_row = arch.takes_labels() ? (n + arch.label_count() - 1) / arch.label_count() : 0;
  const bool class_grid = arch.takes_labels() && format == SampleFormat::grid;
  if (class_grid) n = per_row * arch.label_count();
  const Tensor labels = class_grid ? arch.class_rows(per_row) : arch.cycle_labels(n);
  const Tensor images = generate_images(arch, n, noise, labels);
  switch (format) {
    case SampleFormat::grid: {
      const int cols = class_grid ? static_cast<int>(per_row) : columns_for(static_cast<int>(std::min<std::int64_t>(n, 1 << 20)));
      tape::io::write_png(out, tape::io::make_grid(images, cols, 2, arch.image_shape[0] <= 32 ? 4 : 1));
      break;
    }
    case SampleFormat::idx: tape::io::write_idx_images(out, images); break;
    case SampleFormat::npy: tape::io::write_npy_images(out, images); break;
    case SampleFormat::folder: tape::io::write_image_folder(out, images); break;
  }
}

tape::Tensor interpolate_noise(const Tensor& a, const Tensor& b, double t, bool linear) {
  // a, b [n, d] -> [n, d]
  if (a.shape() != b.shape() || a.rank() != 2) {
    throw tape::ShapeError("interpolate_noise: needs two [n, d] tensors of one shape, got " + a.shape().to_string() + " and " +
                           b.shape().to_string());
  }
  const std::int64_t n = a.dim(0), d = a.dim(1);
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> out(va.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const double* x = va.data() + i * d;
    const double* y = vb.data() + i * d;
    double xy = 0, xx = 0, yy = 0;
    for (std::int64_t k = 0; k < d; ++k) xy += x[k] * y[k], xx += x[k] * x[k], yy += y[k] * y[k];
    const double cosine = std::clamp(xy / std::sqrt(std::max(xx * yy, 1e-300)), -1.0, 1.0);
    const double omega = std::acos(cosine), sine = std::sin(omega);
    const bool straight = linear || sine < 1e-6;
    const double wa = straight ? 1.0 - t : std::sin((1.0 - t) * omega) / sine;
    const double wb = straight ? t : std::sin(t * omega) / sine;
    for (std::int64_t k = 0; k < d; ++k) out[static_cast<std::size_t>(i * d + k)] = wa * x[k] + wb * y[k];
  }
  return Tensor::from_vector(out, a.shape()).to(a.dtype());
}

int interpolate(const InterpolateOptions& o) {
  if (o.cells < 1 || o.cells > 256 || o.points < 2 || o.points > 64 || o.steps < 1 || o.points * o.steps > 2000 ||
      o.delay_centiseconds < 1) {
    throw tape::ValueError("interpolate: needs 1-256 cells, 2-64 points, at least 1 step, at most 2,000 frames and a "
                           "positive delay; got " + std::to_string(o.cells) + " cells, " + std::to_string(o.points) +
                           " points, " + std::to_string(o.steps) + " steps, delay " + std::to_string(o.delay_centiseconds));
  }
  Architecture arch = load_generator(o.checkpoint, o.raw);
  tape::NoRecord no_record;
  tape::Generator gen(o.seed);
  std::vector<Tensor> points;
  for (int k = 0; k < o.points; ++k) points.push_back(arch.sample_noise(o.cells, gen));
  const Tensor labels = arch.cycle_labels(o.cells);  // conditional (codes): each cell keeps one class (code), in turn
  std::vector<tape::io::Image> frames;
  const int cols = columns_for(o.cells), scale = arch.image_shape[0] <= 32 ? 2 : 1;
  for (int k = 0; k < o.points; ++k) {
    for (int s = 0; s < o.steps; ++s) {
      const Tensor z = interpolate_noise(points[static_cast<std::size_t>(k)],
                                         points[static_cast<std::size_t>((k + 1) % o.points)], double(s) / o.steps, o.linear);
      frames.push_back(tape::io::make_grid(arch.to_signed(arch.generate(z, labels, false)), cols, 2, scale));
    }
  }
  tape::io::write_gif(o.out, frames, o.delay_centiseconds);
  return static_cast<int>(frames.size());
}

void evaluate_checkpoint(const EvalConfig& c) {
  if (c.checkpoint.empty() == c.samples.empty()) {
    throw tape::ValueError("eval: give either --checkpoint (a generator to sample) or --samples (an IDX file of images)");
  }
  Tensor images;
  std::string source;
  std::optional<Architecture> arch;
  if (!c.samples.empty()) {
    images = tape::data::load_idx_images(c.samples);
    source = c.samples + ", " + std::to_string(images.dim(0)) + " images";
    if (images.dim(0) < c.n) {
      throw tape::ValueError("eval: " + c.samples + " holds " + std::to_string(images.dim(0)) + " images, --n is " +
                             std::to_string(c.n));
    }
    images = tape::slice(images, {0, 0, 0, 0}, {c.n, -1, -1, -1});
  } else {
    arch = load_generator(c.checkpoint, c.raw);
    source = c.checkpoint + ", " + arch->name;
  }
  const tape::Shape shape = images.defined() ? tape::Shape{images.dim(1), images.dim(2), images.dim(3)}
                                              : tape::Shape(arch->image_shape);
  if (shape != tape::Shape{28, 28, 1}) {
    throw tape::ValueError("eval: the " + tape::data::dataset_title(c.dataset) + " classifier needs 28x28x1 images; " + source +
                           " has " + shape.to_string());
  }
  Evaluator evaluator(examples::classifier_path(c.dataset, c.classifier), c.dataset, c.data_dir, c.n, c.verify_checksums);
  const QualityReport generated = images.defined() ? evaluator.evaluate(images)
                                                   : evaluate_generator(evaluator, *arch, arch->generator, c.noise);
  const std::vector<std::pair<std::string, QualityReport>> rows{{"real test", evaluator.real_report()},
                                                                {"generated", generated}};
  std::cout << "Each set against " << c.n << " training images (" << source << ")\n"
            << format_quality_table(rows, evaluator.score_label());
  const fs::path dir = fs::path(images.defined() ? c.samples : c.checkpoint).parent_path();
  const std::string json = !c.json.empty()                     ? c.json
                           : dir.filename() == "checkpoints" ? (dir.parent_path() / "metrics.json").string()
                                                             : (dir / "metrics.json").string();
  write_metrics_json(json, rows);
  std::cout << "Wrote " << json << "\n";
}

}  // namespace dcgan
