// dcgan: train, watch, resume and sample DCGANs on MNIST, Fashion-MNIST and CIFAR-10 with tape.
//   dcgan train   [options]          train (see --help)
//   dcgan sample  --checkpoint PATH  a grid of generated images
//   dcgan summary --arch NAME        the Keras tables of G and D
//   dcgan render  --out DIR          progress.gif and losses.png of a run, made again
//   dcgan interpolate --checkpoint PATH  a latent-space walk as an animated GIF
//   dcgan eval    --checkpoint PATH  sample-quality metrics with the MNIST or Fashion-MNIST classifier
//   dcgan presets                    the named recipes of `train --preset`
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <tape/data/dataset.h>

#include "architectures.h"
#include "classifier_paths.h"
#include "presets.h"
#include "trainer.h"
#ifdef TAPE_DCGAN_MPI
#include <tape/distributed/communicator.h>

#include "process_group.h"
#endif

namespace {

std::string classifier_help() {
  return "classifier checkpoint written by mnist_classifier (default: " + examples::classifier_path("mnist") + ", or " +
         examples::classifier_path("fashion-mnist") + " with --dataset fashion-mnist)";
}

void add_train_options(CLI::App& cmd, dcgan::TrainConfig& c) {
  // A preset's words come first; an option given again (by the user) takes the last value.
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::vector<std::string> preset_names;
  for (const auto& p : dcgan::presets()) preset_names.push_back(p.name);
  cmd.add_option("--preset", c.preset, "a named recipe: architecture, hyperparameters and update mode together "
                                       "(default: " + dcgan::presets().front().name +
                                       " unless --arch is given; `dcgan presets` lists them)")
      ->check(CLI::IsMember(preset_names));
  cmd.add_option("--dataset", c.dataset, "mnist | fashion-mnist | cifar10")
      ->check(CLI::IsMember({"mnist", "fashion-mnist", "cifar10"}))->capture_default_str();
  cmd.add_option("--data", c.data_dir, "folder with the dataset's files (default: data/mnist, the Debian "
                                       "Fashion-MNIST folder, data/cifar10)");
  cmd.add_flag("--check-numerics", c.check_numerics,
               "anomaly mode: check every op's output and every gradient for NaN/Inf and name the op that made the first");
  cmd.add_flag("!--no-checksum", c.verify_checksums, "skip MNIST's checksum check (IDX files of your own)");
  cmd.add_option("--arch", c.arch, "tf-tutorial | keras-small | vstark21 | libtorch | mnist-fast | mnist-lean | mnist-fast-sn | feziodoshi | cifar")
      ->check(CLI::IsMember(dcgan::architecture_names()))->capture_default_str();
  cmd.add_flag("--conditional", c.conditional,
               "class-conditional: G and D take the image's label too; grids put one class per row (--samples "
               "images each); dcgan eval and --eval-every report the label accuracy");
  cmd.add_option("--codes", c.codes,
                 "InfoGAN: G also takes a categorical code of this many values, drawn uniformly (no labels used), and "
                 "D learns to name it from the image; grids put one code per row (0: off)")
      ->check(CLI::Range(std::int64_t{0}, dcgan::kMaxClasses))->capture_default_str();
  cmd.add_option("--code-weight", c.code_weight, "InfoGAN: the weight of the code's cross-entropy in D's and G's loss")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  auto* epochs = cmd.add_option("--epochs", c.epochs, "passes over the data (default 1)");
  cmd.add_option("--steps", c.steps, "total training steps (instead of --epochs)")->excludes(epochs);
  cmd.add_option("--batch", c.batch, "images per step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_flag("--keep-partial-batch", c.keep_partial_batch,
               "end each epoch with a smaller batch of the images left (the TF tutorial's batching) instead of leaving "
               "them to the next epoch");
  cmd.add_option_function<std::string>(
      "--batch-from",
      [&c](const std::string& text) {
        try {
          c.batch_from = dcgan::parse_batch_changes(text);
        } catch (const tape::ValueError& e) {
          throw CLI::ValidationError("--batch-from", e.what());
        }
      },
      "larger batches later in the run: STEP:BATCH[,STEP:BATCH...], from step STEP on BATCH images per step "
      "(none: --batch throughout)");
  cmd.add_option("--lr", c.lr, "Adam learning rate (both nets; wgan-gp default 1e-4)")->capture_default_str();
  cmd.add_option("--g-lr", c.g_lr, "the generator's learning rate (default: --lr)")->check(CLI::PositiveNumber);
  cmd.add_option("--d-lr", c.d_lr, "the discriminator's learning rate (default: --lr)")->check(CLI::PositiveNumber);
  cmd.add_option("--lr-schedule", c.lr_schedule, "constant | linear | cosine: the rates' decay over the run")
      ->check(CLI::IsMember({"constant", "linear", "cosine"}))->capture_default_str();
  cmd.add_option("--lr-decay-start", c.lr_decay_start, "fraction of the run before the decay starts")
      ->check(CLI::Range(0.0, 0.999))->capture_default_str();
  cmd.add_option("--lr-final", c.lr_final, "the rate at the end as a fraction of the initial one")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd.add_option("--beta1", c.beta1, "Adam beta1")->capture_default_str();
  cmd.add_option("--beta2", c.beta2, "Adam beta2 (wgan-gp default 0.9)")->capture_default_str();
  cmd.add_option("--loss", c.loss, "bce (the seeds' GAN loss) | hinge | wgan-gp (critic + gradient penalty)")
      ->check(CLI::IsMember({"bce", "hinge", "wgan-gp"}))->capture_default_str();
  cmd.add_option("--updates", c.updates, "simultaneous (one forward pass, the TF tutorial) | alternating (D, then G "
                                         "against the updated D on the same G(z), PyTorch's example) | alternating-fresh "
                                         "(D, then G on fresh noise through a second G pass, seed 003's TF1 loop) | gated "
                                         "(seed 004: up to three runs a step on fresh noise, D on fakes, G, D on reals, "
                                         "each while its latest loss is above 0.6 / 0.5 / 0.45, with three Adams)")
      ->check(CLI::IsMember({"simultaneous", "alternating", "alternating-fresh", "gated"}))->capture_default_str();
  cmd.add_option("--data-range", c.data_range, "-1,1 | 0,1: the pixels G makes and D sees (default: the architecture's "
                                                "own; a tanh G is mapped to 0,1 by x/2 + 1/2, a sigmoid G to -1,1 by 2x - 1)")
      ->check(CLI::IsMember({"-1,1", "0,1"}));
  cmd.add_option("--n-critic", c.n_critic, "wgan-gp: critic updates per generator update")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--gp-weight", c.gp_weight, "wgan-gp: gradient penalty weight lambda")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd.add_option("--ema", c.ema, "keep a moving average of G's weights with this decay (e.g. 0.999) for samples, "
                                 "metrics and checkpoints (0: off)")->check(CLI::Range(0.0, 0.99999))->capture_default_str();
  cmd.add_option("--ema-start", c.ema_start, "the weight average copies G up to this step, then decays with exactly "
                                             "--ema (0: TensorFlow's warm-up, min(ema, (1+t)/(10+t)))")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd.add_option("--r1-every", c.r1_every, "lazy R1: the penalty on every N-th step only, weighted N times")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--r1", c.r1_gamma, "bce/hinge: R1 penalty weight gamma on real images (0: off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd.add_option("--z-dim", c.z_dim, "noise dimensions")->check(CLI::Range(std::int64_t{1}, dcgan::kMaxZDim))->capture_default_str();
  cmd.add_option("--noise", c.noise, "G's noise prior: normal N(0, 1) | uniform U(-1, 1) | truncated (N(0, 1) within 2 sigma)")
      ->check(CLI::IsMember({"normal", "uniform", "truncated"}))->capture_default_str();
  cmd.add_option("--seed", c.seed, "seed of every random draw: the same seed and thread count give the same run")
      ->capture_default_str();
  cmd.add_option("--out", c.out, "output folder")->capture_default_str();
  cmd.add_flag("--resume", c.resume, "continue from the newest checkpoint in --out");
  cmd.add_option("--threads", c.threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--label-smoothing", c.real_label, "target for real images (one-sided smoothing, e.g. 0.9)")
      ->check(CLI::Range(0.5, 1.0))->capture_default_str();
  cmd.add_flag("--balance", c.balance, "train D and G only while their losses are above thresholds (seed 004)");
  cmd.add_option("--digit", c.digit, "train on one class only")->check(CLI::Range(0, 9));
  cmd.add_option("--split", c.split, "the images trained on: train | train+test (seed 003: all 70,000 MNIST images)")
      ->check(CLI::IsMember({"train", "train+test"}))->capture_default_str();
  cmd.add_option("--sample-every", c.sample_every, "also save a sample grid every N steps");
  cmd.add_option("--checkpoint-every", c.checkpoint_every, "save a checkpoint every N steps (and each epoch)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--keep-checkpoints", c.keep_checkpoints, "how many checkpoints to keep")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_flag("--tensorboard", c.tensorboard, "write TensorBoard event files under --out/tensorboard");
  cmd.add_option("--tensorboard-every", c.tensorboard_every, "steps between TensorBoard summaries")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--samples", c.samples, "images in each sample grid (--conditional, --codes: in each class's or code's row)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd.add_option("--log-every", c.log_every, "steps between progress lines when not on a terminal")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--max-images", c.max_images, "train on the first N images only");
  cmd.add_option("--eval-every", c.eval_every, "score samples with the dataset's classifier (mnist, fashion-mnist) "
                                               "every N steps -> metrics.csv, metrics.png, fid.png")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--eval-n", c.eval_n, "images per evaluation")->check(CLI::Range(10, 10000))->capture_default_str();
  cmd.add_option("--classifier", c.classifier, classifier_help());
  cmd.add_flag("--sync-batch-norm", c.sync_batch_norm,
               "over several processes: BatchNorm with the whole batch's statistics, as one process would");
}

// argv without the program name, with `train`'s preset expanded (presets.h), in the reversed
// order CLI::App::parse takes.
// sample and eval: how the noise is drawn.
void add_noise_options(CLI::App& cmd, dcgan::NoiseOptions& noise) {
  cmd.add_option("--seed", noise.seed, "noise seed")->capture_default_str();
  cmd.add_flag("--batch-stats", noise.batch_statistics, "BatchNorm with the batch's statistics instead of the moving averages");
  cmd.add_option("--truncation", noise.truncation,
                 "redraw each noise value until |z| <= T (the truncation trick: fewer, cleaner modes); 0: plain N(0, 1)")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str();
}

std::vector<std::string> command_words(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty() && words.front() == "train") {
    std::vector<std::string> train_words = dcgan::expand_preset({words.begin() + 1, words.end()});
    train_words.insert(train_words.begin(), "train");
    words = std::move(train_words);
  }
  std::reverse(words.begin(), words.end());
  return words;
}

void print_presets() {
  for (const auto& p : dcgan::presets()) {
    std::cout << p.name << (&p == &dcgan::presets().front() ? " (default)" : "") << ": " << p.description << "\n   ";
    for (const auto& w : p.args) std::cout << " " << w;
    std::cout << "\n";
  }
}

}  // namespace

bool launched_by_mpi() {
#ifdef TAPE_DCGAN_MPI
  return tape::distributed::launched_by_mpi();
#else
  return false;
#endif
}

// `dcgan train` in every process of mpirun: each trains on its share of every batch. An error in
// one process ends them all (the others may be waiting for it in a collective).
int train_distributed(const dcgan::TrainConfig& config) {
#ifdef TAPE_DCGAN_MPI
  tape::distributed::Environment mpi;
  const auto comm = tape::distributed::Communicator::world();
  try {
    const dcgan::ProcessGroup group = dcgan::make_process_group(comm, config.sync_batch_norm);
    return dcgan::train(config, &group);
  } catch (const std::exception& e) {
    std::cerr << "dcgan (rank " << comm.rank() << " of " << comm.size() << "): " << e.what() << "\n";
    if (comm.size() > 1) comm.abort(1);
    return 1;
  }
#else
  (void)config;
  throw tape::ValueError("train --distributed: this dcgan was built without MPI (install libopenmpi-dev and build again)");
#endif
}

int main(int argc, char** argv) {
  CLI::App app{"dcgan: train DCGANs with tape (a GradientTape for C++) and watch them learn"};
  app.require_subcommand(1);

  dcgan::TrainConfig config;
  auto* train = app.add_subcommand("train", "train a DCGAN");
  add_train_options(*train, config);
  bool distributed = false;
  train->add_flag("--distributed", distributed,
                  "train in every process of mpirun, each on its share of every batch (automatic under mpirun; "
                  "needs a dcgan built with MPI)");

  std::string checkpoint, out = "samples.png";
  std::int64_t n = 64;
  dcgan::NoiseOptions sample_noise;
  auto* sample = app.add_subcommand("sample", "write images generated from a checkpoint: a grid, an IDX or NumPy file, "
                                              "or a folder of PNGs");
  sample->add_option("--checkpoint", checkpoint, "a checkpoint written by dcgan train")->required()->check(CLI::ExistingFile);
  sample->add_option("--n", n, "how many images")->check(CLI::Range(std::int64_t{1}, std::int64_t{200000}))
      ->capture_default_str();
  add_noise_options(*sample, sample_noise);
  sample->add_option("--out", out, "x.png: one grid; x.idx: IDX (MNIST's format); x.npy: NumPy uint8; "
                                   "anything else: a folder of one PNG per image")->capture_default_str();
  bool raw = false;
  sample->add_flag("--raw", raw, "the trained generator, not its weight average (runs with --ema)");

  std::string arch = "tf-tutorial";
  std::int64_t z_dim = 100;
  auto* summary = app.add_subcommand("summary", "print the Keras tables of an architecture's G and D");
  summary->add_option("--arch", arch, "architecture")->check(CLI::IsMember(dcgan::architecture_names()))
      ->capture_default_str();
  summary->add_option("--z-dim", z_dim, "noise dimensions")->capture_default_str();

  std::string run_dir;
  dcgan::InterpolateOptions walk;
  auto* interpolate = app.add_subcommand("interpolate", "a walk through the generator's latent space as an animated GIF");
  interpolate->add_option("--checkpoint", walk.checkpoint, "a checkpoint written by dcgan train")->required()
      ->check(CLI::ExistingFile);
  interpolate->add_option("--out", walk.out, "the GIF to write")->capture_default_str();
  interpolate->add_option("--cells", walk.cells, "images per frame (a square grid)")->check(CLI::Range(1, 256))
      ->capture_default_str();
  interpolate->add_option("--points", walk.points, "latent points each image visits before it returns to the first")
      ->check(CLI::Range(2, 64))->capture_default_str();
  interpolate->add_option("--steps", walk.steps, "frames from one point to the next")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  interpolate->add_option("--delay", walk.delay_centiseconds, "centiseconds per frame")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  interpolate->add_option("--seed", walk.seed, "seed of the latent points")->capture_default_str();
  interpolate->add_flag("--linear", walk.linear, "straight lines between the points instead of spherical interpolation");
  interpolate->add_flag("--raw", walk.raw, "the trained generator, not its weight average (runs with --ema)");

  auto* render = app.add_subcommand("render", "make progress.gif and losses.png of a run folder again");
  render->add_option("--out", run_dir, "the run folder")->required()->check(CLI::ExistingDirectory);

  dcgan::EvalConfig eval_config;
  auto* eval = app.add_subcommand("eval", "score a generator with the dataset's classifier, next to the real test set");
  auto* eval_checkpoint = eval->add_option("--checkpoint", eval_config.checkpoint, "a checkpoint written by dcgan train")
      ->check(CLI::ExistingFile);
  eval->add_option("--samples", eval_config.samples, "instead of a checkpoint: an IDX file of 28x28 images "
                                                     "(dcgan sample --out x.idx, or another program's)")
      ->check(CLI::ExistingFile)->excludes(eval_checkpoint);
  eval->add_option("--dataset", eval_config.dataset, "mnist | fashion-mnist: the classifier, training and test images")
      ->check(CLI::IsMember(examples::classifier_datasets()))->capture_default_str();
  eval->add_option("--classifier", eval_config.classifier, classifier_help())->check(CLI::ExistingFile);
  eval->add_option("--data", eval_config.data_dir, "folder with the dataset's IDX files (default: " +
                                                   tape::data::default_data_dir("mnist") + ", or " +
                                                   tape::data::default_data_dir("fashion-mnist") + ")");
  eval->add_flag("!--no-checksum", eval_config.verify_checksums, "skip MNIST's checksum check");
  eval->add_option("--n", eval_config.n, "generated, test and training images per set")->check(CLI::Range(10, 10000))
      ->capture_default_str();
  add_noise_options(*eval, eval_config.noise);
  eval->add_flag("--raw", eval_config.raw, "the trained generator, not its weight average (runs with --ema)");
  eval->add_option("--json", eval_config.json, "where to write the metrics (default: metrics.json in the run folder)");

  auto* list_presets = app.add_subcommand("presets", "list the named recipes of train --preset");

  try {
    std::vector<std::string> words = command_words(argc, argv);
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "dcgan: " << e.what() << "\n";
    return 1;
  }
  if (*list_presets) {
    print_presets();
    return 0;
  }
  if (config.loss == "wgan-gp") {  // the WGAN-GP paper's Adam settings unless given
    if (train->count("--lr") == 0) config.lr = 1e-4;
    if (train->count("--beta2") == 0) config.beta2 = 0.9;
  }
  try {
    if (*train && (distributed || launched_by_mpi())) return train_distributed(config);
    if (*train) return dcgan::train(config);
    if (*interpolate) {
      const int frames = dcgan::interpolate(walk);
      std::cout << "Wrote " << walk.out << " (" << frames << " frames)\n";
      return 0;
    }
    if (*render) {
      dcgan::render(run_dir);
      std::cout << "Wrote " << run_dir << "/progress.gif and " << run_dir << "/losses.png\n";
      return 0;
    }
    if (*eval) {
      dcgan::evaluate_checkpoint(eval_config);
      return 0;
    }
    if (*sample) {
      dcgan::sample(checkpoint, n, sample_noise, out, raw);
      std::cout << "Wrote " << out << "\n";
      return 0;
    }
    dcgan::Architecture a = dcgan::make_architecture(arch, z_dim, 0);
    std::cout << a.description << "\n";
    a.generator.summary(std::cout);
    a.discriminator.summary(std::cout);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dcgan: " << e.what() << "\n";
    return 1;
  }
}
