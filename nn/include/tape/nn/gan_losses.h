// GAN losses, as TF-GAN has them: the discriminator's two terms and the generator's loss for the
// non-saturating BCE, the hinge loss and the Wasserstein (critic) loss, and the penalties on the critic's input gradient (WGAN-GP,
// R1), differentiable again w.r.t. the critic's weights and the images (nested tapes).
#pragma once
#include <functional>

#include "tape/nn/module.h"
#include "tape/tensor.h"

namespace tape::nn {

enum class GanLoss { bce, hinge, wasserstein };

// Scalars: D's loss on real images, D's loss on generated ones, G's loss.
struct GanLossTerms {
  Tensor d_real, d_fake, g;
};

// fake_logits [B, 1] -> G's loss: BCE(1, D(G(z))) (non-saturating), or -mean D(G(z)) for hinge
// and Wasserstein.
Tensor generator_loss(GanLoss loss, const Tensor& fake_logits);
// logits [B, 1] -> D's terms and G's loss. BCE: BCE(real_label, D(x)) and BCE(0, D(G(z))) (a
// real_label below 1 is one-sided label smoothing); hinge: mean relu(1 - D(x)) and
// mean relu(1 + D(G(z))); Wasserstein (WGAN's critic): -mean D(x) and mean D(G(z)), so that
// d_real + d_fake is the negated Wasserstein estimate (add a gradient_penalty for WGAN-GP). Hinge
// and Wasserstein take no label smoothing (ValueError for a real_label other than 1).
GanLossTerms gan_losses(GanLoss loss, const Tensor& real_logits, const Tensor& fake_logits, double real_label = 1.0);

// ||grad_x sum D(x)||^2 for each image of x [B, H, W, C] -> [B], computed under a nested tape so
// that tapes already recording can differentiate it again (w.r.t. the critic's weights).
Tensor squared_input_gradient_norms(Module& critic, const Tensor& x, bool training = true);
// WGAN-GP's penalty mean_i (||grad D(x_hat_i)|| - 1)^2 at x_hat = eps * real + (1 - eps) * fake,
// eps [B, 1, 1, 1] in [0, 1] (one per image). The norm is sqrt(s + 1e-12), smooth at 0.
Tensor gradient_penalty(Module& critic, const Tensor& real, const Tensor& fake, const Tensor& eps, bool training = true);
// R1 (Mescheder et al. 2018) without its weight: mean_i ||grad D(x_i)||^2 / 2 on real images.
Tensor r1_penalty(Module& critic, const Tensor& real, bool training = true);

// The same for a critic given as a function of the images: a critic of several inputs with the
// others held fixed (a class-conditional D: [&](const Tensor& x) { return d({x, labels}, true); }).
using Critic = std::function<Tensor(const Tensor&)>;
Tensor squared_input_gradient_norms(const Critic& critic, const Tensor& x);
Tensor gradient_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& eps);
Tensor r1_penalty(const Critic& critic, const Tensor& real);

}  // namespace tape::nn
