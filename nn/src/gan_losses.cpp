// GAN losses (see gan_losses.h), written with recorded ops so that every one differentiates again.
#include "tape/nn/gan_losses.h"

#include "tape/nn/losses.h"
#include "tape/tape.h"

namespace tape::nn {
namespace {

// labels, logits [B, 1] -> scalar
Tensor bce(const Tensor& labels, const Tensor& logits) { return binary_cross_entropy(labels, logits, {.from_logits = true}); }

}  // namespace

Tensor generator_loss(GanLoss loss, const Tensor& fake_logits) {
  // [B, 1] -> scalar
  return loss == GanLoss::bce ? bce(Tensor::ones(fake_logits.shape()), fake_logits) : -mean(fake_logits);
}

GanLossTerms gan_losses(GanLoss loss, const Tensor& real_logits, const Tensor& fake_logits, double real_label) {
  // [B, 1], [B, 1] -> three scalars
  if (loss != GanLoss::bce && real_label != 1.0) {
    throw ValueError(std::string("gan_losses: the ") + (loss == GanLoss::hinge ? "hinge" : "Wasserstein") +
                     " loss takes no label smoothing, got real_label " + std::to_string(real_label));
  }
  if (loss == GanLoss::hinge) {
    return {hinge(Tensor::ones(real_logits.shape()), real_logits), hinge(Tensor::full(fake_logits.shape(), -1.0), fake_logits),
            generator_loss(loss, fake_logits)};
  }
  if (loss == GanLoss::wasserstein) return {-mean(real_logits), mean(fake_logits), generator_loss(loss, fake_logits)};
  return {bce(Tensor::full(real_logits.shape(), real_label), real_logits), bce(Tensor::zeros(fake_logits.shape()), fake_logits),
          generator_loss(loss, fake_logits)};
}

Tensor squared_input_gradient_norms(const Critic& critic, const Tensor& x) {
  // x [B, H, W, C] -> [B]
  GradientTape inner;
  inner.watch(x);
  const Tensor out = critic(x);
  const Tensor g = inner.gradient(sum(out), x);
  return sum(square(g), {1, 2, 3});
}

Tensor gradient_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& eps) {
  // real, fake [B, H, W, C], eps [B, 1, 1, 1] -> scalar
  const Tensor x_hat = eps * real + (1.0 - eps) * fake;
  const Tensor norms = sqrt(squared_input_gradient_norms(critic, x_hat) + 1e-12);
  return mean(square(norms - 1.0));
}

Tensor r1_penalty(const Critic& critic, const Tensor& real) {
  // real [B, H, W, C] -> scalar
  return 0.5 * mean(squared_input_gradient_norms(critic, real));
}

namespace {
Critic as_critic(Module& critic, bool training) {
  return [&critic, training](const Tensor& x) { return critic(x, training); };
}
}  // namespace

Tensor squared_input_gradient_norms(Module& critic, const Tensor& x, bool training) {
  return squared_input_gradient_norms(as_critic(critic, training), x);
}

Tensor gradient_penalty(Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps, bool training) {
  return gradient_penalty(as_critic(critic, training), real, fake, eps);
}

Tensor r1_penalty(Module& critic, const Tensor& real, bool training) { return r1_penalty(as_critic(critic, training), real); }

}  // namespace tape::nn
