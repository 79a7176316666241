// The DCGAN trainer: the TF tutorial's step (one forward pass, two tapes), the seeds' options
// (one-sided label smoothing, loss-balanced updates), and everything a run leaves behind:
// config.json, sample grids, progress.gif, losses.csv/png, checkpoints, TensorBoard events.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <tape/data/batch_schedule.h>
#include <tape/nn/nn.h>

#include "architectures.h"
#include "evaluation.h"

namespace dcgan {

struct TrainConfig {
  std::string preset;             // the recipe named on the command line (presets.h), "" for none
  std::string dataset = "mnist";  // mnist | fashion-mnist | cifar10
  std::string data_dir;           // default per dataset
  bool verify_checksums = true;   // MNIST's published sha256 (off for IDX files of your own)
  std::string arch = "tf-tutorial";
  std::int64_t epochs = 0;        // 0 with steps = 0: 1 epoch
  std::int64_t steps = 0;         // total training steps (overrides epochs)
  std::int64_t batch = 128;
  // Each epoch ends with a smaller batch of the images left (the TF tutorial's tf.data batching);
  // false: those images wait for the next epoch's order.
  bool keep_partial_batch = false;
  double lr = 2e-4;
  double g_lr = 0.0;              // the generator's rate (0: lr)
  double d_lr = 0.0;              // the discriminator's rate (0: lr); two time-scale updates when they differ
  // Learning-rate schedule of both optimizers over their updates: constant | linear | cosine,
  // flat until lr_decay_start (a fraction of the run), then down to lr_final times the rate.
  std::string lr_schedule = "constant";
  // A larger batch later in the run: from step `step` on (steps done), `batch` images per step
  // (--batch-from STEP:BATCH; tape::data::BatchSchedule; each batch at most the data set's size).
  using BatchChange = tape::data::BatchChange;
  std::vector<BatchChange> batch_from;
  double lr_decay_start = 0.0;
  double lr_final = 0.0;
  double beta1 = 0.5;
  double beta2 = 0.999;
  std::string loss = "bce";       // bce (the seeds' GAN loss) | hinge | wgan-gp
  // simultaneous: one forward pass, both nets updated from it (the TF tutorial); alternating: D
  // updated first, then G against the updated D on the same G(z) (PyTorch's DCGAN example);
  // alternating-fresh: the same, G's update on fresh noise through a second G pass (seed 003);
  // gated: seed 004's loop (gated_step below)
  std::string updates = "simultaneous";
  int n_critic = 5;               // wgan-gp: critic updates per generator update
  double gp_weight = 10.0;        // wgan-gp: lambda of the gradient penalty
  double r1_gamma = 0.0;          // bce/hinge: R1 penalty gamma / 2 * E ||grad_x D(x)||^2 on real images (0: off)
  std::int64_t r1_every = 1;      // lazy R1: only every N-th step, with gamma * N
  // Decay of a moving average of G's weights (0: off). When on, grids, --eval-every and the
  // checkpoints' "generator_ema" use the average; training itself is unchanged.
  double ema = 0.0;
  // 0: TensorFlow's warm-up of the decay; N > 0: the average copies G up to step N, then decays
  // with exactly `ema` (a window of 1 / (1 - ema) steps from there on).
  std::int64_t ema_start = 0;
  std::int64_t z_dim = 100;
  std::string noise = "normal";   // G's noise prior: normal | uniform | truncated (NoisePrior)
  std::string data_range;         // "-1,1" | "0,1": the pixels G makes and D sees ("": the architecture's own)
  // Class-conditional: G and D take the label too (Architecture::classes); sample grids put one
  // class per row (`samples` images each), --eval-every prints and dcgan eval reports the label
  // accuracy (metrics.json).
  bool conditional = false;
  // InfoGAN (Architecture::codes): G takes a categorical code of this many values beside z, D's
  // second head learns to name it, and both losses take that cross-entropy times code_weight; sample
  // grids put one code per row. 0: off. Not with conditional, wgan-gp, gated updates or balance.
  std::int64_t codes = 0;
  double code_weight = 1.0;
  std::uint64_t seed = 1;
  std::string out = "runs/dcgan";
  bool resume = false;
  int threads = 0;                // 0: all cores
  double real_label = 1.0;        // one-sided label smoothing: the target for real images
  bool balance = false;           // seed 004's loss-balanced updates
  int digit = -1;                 // keep one class only
  std::string split = "train";    // train | train+test (seed 003: all 70,000 MNIST images)
  std::int64_t sample_every = 0;  // extra sample grids every N steps (0: per epoch only)
  std::int64_t checkpoint_every = 500;
  int keep_checkpoints = 3;
  bool tensorboard = false;
  std::int64_t tensorboard_every = 100;
  int samples = 16;               // fixed-noise images in each grid (conditional or codes: in each class's or code's row)
  std::int64_t log_every = 50;    // plain progress lines when stdout is not a terminal
  std::int64_t max_images = 0;    // use only the first N training images (0: all)
  // Sample-quality metrics while training (MNIST, Fashion-MNIST): every eval_every steps (and at
  // steps 0 and the last), eval_n generated images scored with the dataset's classifier ->
  // metrics.csv, metrics.png, fid.png.
  std::int64_t eval_every = 0;
  std::int64_t eval_n = 10000;
  std::string classifier;         // default: examples::classifier_path(dataset)
  // Anomaly mode (tape::CheckNumerics): every recorded op's output and every gradient checked, the
  // first NaN or Inf named by its op. Without it a step with non-finite losses still stops the run.
  bool check_numerics = false;
  // Over several processes (mpirun): BatchNorm with the global batch's statistics instead of each
  // process's shard (the same training as one process, at the cost of two small all-reduces per
  // BatchNorm layer and pass).
  bool sync_batch_norm = false;
  // Called after every step with the step number; returning false stops the run the way Ctrl-C
  // does (checkpoint saved, clean exit). For programs embedding the trainer, and for tests.
  std::function<bool(std::int64_t)> keep_going;
};

// "5000:128,8000:256" -> {{5000, 128}, {8000, 256}} ("" or "none" -> none); ValueError naming the part
// that is not STEP:BATCH with positive integers.
std::vector<TrainConfig::BatchChange> parse_batch_changes(const std::string& text);

// --batch, then the --batch-from changes; ValueError naming --batch-from for changes out of order.
tape::data::BatchSchedule batch_schedule(const TrainConfig& c);
// Images drawn by the first `steps` steps: batch_schedule(c).images_in(steps).
std::int64_t images_in_steps(const TrainConfig& c, std::int64_t steps);

// Losses and discriminator outputs of one training step.
struct StepResult {
  double d_loss_real = 0, d_loss_fake = 0, g_loss = 0;
  double d_real = 0, d_fake = 0;  // mean D(x), mean D(G(z)) as probabilities
  bool d_updated = true, g_updated = true;
  std::optional<double> code_loss;  // with codes: InfoGAN's cross-entropy of the fakes' codes (in D's and G's loss)
};

using tape::nn::GanLoss;

// A batch of real images [B, H, W, C] in the architecture's range and, for a conditional
// architecture, their labels [B] (a bare tensor converts: images without labels).
struct RealBatch {
  RealBatch(const tape::Tensor& images_, const tape::Tensor& labels_ = {}) : images(images_), labels(labels_) {}
  tape::Tensor images, labels;
};

// Data-parallel training: this process holds `shard` of every global batch (its noise is its rows
// of the global batch's draw) and `average_gradients` averages gradients over the processes before
// each update (none: one process).
using GradientAverage = std::function<std::vector<tape::Tensor>(const std::vector<tape::Tensor>&)>;
struct DataParallel {
  tape::BatchShard shard;
  GradientAverage average_gradients;
};

struct StepOptions {
  GanLoss loss = GanLoss::bce;
  double real_label = 1.0;
  bool balance = false;
  double r1_gamma = 0.0;
  bool alternating = false;  // D's update first, then G's against the updated D
  bool fresh_noise = false;  // with alternating: G's update on a second G(z') with fresh z' (the TF1 seeds')
  // Balanced mode: which updates the previous step's losses allow (seed 004's thresholds).
  bool train_d_real = true, train_d_fake = true, train_g = true;
  DataParallel parallel;
  // With codes (Architecture::codes): the weight of InfoGAN's code term, added to D's loss on the
  // fakes and to G's loss.
  double code_weight = 1.0;
};

// One step: z ~ N(0, 1); G and D forward under two tapes; D loss = BCE(real_label, D(x)) +
// BCE(0, D(G(z))); G loss = BCE(1, D(G(z))); both Adam steps. real[B, H, W, C] in [-1, 1].
// With GanLoss::hinge: D loss = hinge(1, D(x)) + hinge(-1, D(G(z))), G loss = -mean D(G(z)).
// With alternating: D is updated first (G(z) a constant to it), then G's loss is taken through the
// updated D on the same G(z) (one more D forward pass); g_loss and d_fake in the result are from
// the updated D. With fresh_noise as well, G's update draws a fresh z' and runs G again (seed 003's
// two sess.run calls: D's step, then G's on new noise). Not with balance. A conditional
// architecture takes the real images' labels for D(x) and draws the fakes' labels uniformly after
// z (from the same generator), for G(z, y) and D(G(z, y), y). An architecture with codes draws
// the fakes' codes c the same way, for G(z, c); D's code head on G(z, c) is scored against c by
// softmax cross-entropy, which D's and G's losses both take (times code_weight): InfoGAN's lower
// bound on the mutual information of the code and the image.
StepResult train_step(Architecture& arch, tape::nn::Adam& g_opt, tape::nn::Adam& d_opt, const RealBatch& real,
                      tape::Generator& noise_gen, const StepOptions& options);

// WGAN-GP (Gulrajani et al. 2017). One critic update on `real` and G(z): critic loss
// E[D(G(z))] - E[D(x)] + gp_weight * gradient_penalty; then, when train_g, one generator update
// on fresh noise with loss -E[D(G(z'))]. Conditional: the critic's fakes take the real images'
// labels (the penalty's interpolates are then of one label each); G's update draws fresh ones. In the result, d_loss_real = -E[D(x)], d_loss_fake =
// E[D(G(z))], d_real / d_fake the raw critic means, g_loss the generator's loss (the critic pass's
// -E[D(G(z))] when G is not updated).
struct WganOptions {
  double gp_weight = 10.0;
  bool train_g = true;
  DataParallel parallel;
};
StepResult wgan_gp_step(Architecture& arch, tape::nn::Adam& g_opt, tape::nn::Adam& d_opt, const RealBatch& real,
                        tape::Generator& noise_gen, const WganOptions& options);
// Seed 004's iteration: up to three runs, each drawing fresh noise, computing all three losses on
// the current weights and then updating one part with its own Adam: D on its fake loss (d_fake_opt)
// when the latest d_loss_fake > 0.6, then G when the latest g_loss > 0.5, then D on its real loss
// (d_real_opt) when the latest d_loss_real > 0.45 — "latest" being the last run's losses, in this
// step or before it (`latest`; the seed starts from g 0, d 1 and 1). The result holds the last run's
// losses (or `latest` when no run happened) and which parts were updated.
struct GatedUpdates {
  bool d_fake = false, g = false, d_real = false;
};
StepResult gated_step(Architecture& arch, tape::nn::Adam& g_opt, tape::nn::Adam& d_fake_opt, tape::nn::Adam& d_real_opt,
                      const RealBatch& real, tape::Generator& noise_gen, const StepOptions& options,
                      const StepResult& latest, GatedUpdates* updated = nullptr);

// Throws tape::ValueError when a network meant as a WGAN critic has BatchNorm layers (the
// gradient penalty is per image; batch statistics couple the images).
void check_critic(tape::nn::Module& critic, const std::string& arch_name);

// Where a checkpoint written by train() left off, read from its metadata: the step, the epoch,
// the image within the epoch (older checkpoints record the batch within the epoch instead; it is
// multiplied by the batch size of the run's config.json, `config_path`, or `fallback_batch`), and
// the last step's losses when recorded. Throws tape::IOError naming `checkpoint` and the field
// when one is missing, not a number or out of range.
struct ResumePosition {
  std::int64_t step = 0, epoch = 0, image_in_epoch = 0;
  std::optional<StepResult> last;
};
ResumePosition resume_position(const std::map<std::string, std::string>& metadata, const std::string& checkpoint,
                               const std::string& config_path, std::int64_t fallback_batch);

// The batch size in a run folder's config.json (checkpoints written before 2026-11-29 do not
// record it), or `fallback` when the file is missing, not a config, or has no integer "batch".
std::int64_t batch_of_run_config(const std::string& path, std::int64_t fallback);

// The processes of a data-parallel run as train() uses them; dcgan's MPI glue
// (mpi/process_group.h) makes one from tape::distributed. Every function is collective.
struct ProcessGroup {
  int rank = 0, size = 1;
  // Sets a model up for this process's shard of each batch (Dropout masks; BatchNorm statistics
  // synchronized or per process, as the group was made).
  std::function<void(tape::nn::Module&)> prepare;
  GradientAverage average_gradients;
  std::function<std::vector<double>(const std::vector<double>&)> sum;  // element-wise over processes
  // rank 0's values, optimizer state and generator states on every process
  std::function<void(const std::vector<tape::Variable>&)> broadcast_variables;
  std::function<void(tape::nn::Optimizer&)> broadcast_optimizer;
  std::function<void(const std::vector<tape::Generator*>&)> broadcast_generators;
  bool is_root() const { return rank == 0; }
  tape::BatchShard shard() const { return {rank, size}; }
};

// Runs a whole training job; returns the process exit code (0 also after Ctrl-C, with a
// checkpoint saved). Throws on bad configuration or data. With a process group of more than one
// process, each trains on its shard of every global batch of config.batch images, gradients
// averaged, and rank 0 alone reads and writes files (run folder, checkpoints, samples, logs,
// metrics): the others receive from it what a resume restores.
int train(const TrainConfig& config, const ProcessGroup* group = nullptr);

// dcgan render: progress.gif and losses.png of a run folder, made again from its files.
void render(const std::string& out_dir);

// The generator saved in a checkpoint written by train(), with the architecture and z_dim its
// metadata names: the weight average ("generator_ema") when the checkpoint has one, unless raw.
// Throws tape::IOError naming the file and the missing field.
Architecture load_generator(const std::string& checkpoint, bool raw = false);

// dcgan eval: n images from the checkpoint's generator (or the first n of an IDX file, --samples)
// and n test images of the dataset, each scored against n of its training images with the
// dataset's classifier; prints the table and writes metrics.json.
struct EvalConfig {
  std::string samples;  // instead of a checkpoint: an IDX file of images made elsewhere (load_idx_images)
  std::string checkpoint;
  std::string dataset = "mnist";  // mnist | fashion-mnist
  std::string classifier;         // default: examples::classifier_path(dataset)
  std::string data_dir;           // default: tape::data::default_data_dir(dataset)
  std::int64_t n = 10000;
  NoiseOptions noise;
  bool raw = false;  // the trained generator even when the checkpoint has a weight average
  bool verify_checksums = true;
  std::string json;  // default: metrics.json in the run folder of the checkpoint
};
void evaluate_checkpoint(const EvalConfig& config);

// dcgan sample: n images from a checkpoint's generator, written as `out` names them
// (sample_files.h): a grid (.png), IDX (.idx), NumPy (.npy) or a folder of PNGs.
// batch_statistics: BatchNorm normalizes with the batch's own statistics instead of the moving
// averages (the generator run as in training, without updating anything). A conditional
// generator's grid has one row per class of ceil(n / classes) images (n rounded up to fill them);
// in the files image i is of class i % classes.
void sample(const std::string& checkpoint, std::int64_t n, const NoiseOptions& noise, const std::string& out,
            bool raw = false);

// dcgan interpolate: a walk through G's latent space as an animated GIF. Each of `cells` grid
// cells visits `points` latent points drawn from G's prior (seeded) and returns to the first, with
// `steps` frames from one point to the next: spherical interpolation (slerp; the prior's mass lies
// near a sphere, where straight lines cut through the low-density middle) or linear.
struct InterpolateOptions {
  std::string checkpoint;
  std::string out = "walk.gif";
  int cells = 16;
  int points = 4;
  int steps = 12;
  int delay_centiseconds = 8;
  std::uint64_t seed = 0;
  bool linear = false;
  bool raw = false;  // the trained G, not its weight average
};
// Writes the GIF; returns the number of frames (points * steps). ValueError for counts out of range.
int interpolate(const InterpolateOptions& options);
// z between a[n, d] and b[n, d] at t in [0, 1], row by row: slerp, or linear when `linear` (and
// where two rows are (anti)parallel, where slerp is undefined).
tape::Tensor interpolate_noise(const tape::Tensor& a, const tape::Tensor& b, double t, bool linear);

}  // namespace dcgan
