#!/usr/bin/python3
"""PyTorch twin of bench_dcgan: the same two DCGANs (tf-tutorial, keras-small) and the same
training iteration, timed on the CPU. Run with Debian's /usr/bin/python3 (python3-torch) with
libopenblas0-openmp installed, so torch's BLAS is OpenBLAS.

  dcgan_step.py --arch tf-tutorial --batch 128 --threads 2 [--iters 20] [--step tf|torch]

--step tf    (default) our step: one forward pass; G's gradient through D on the fake batch and D's
             gradients from the same pass (torch.autograd.grad with each net's parameters), then
             both Adam steps -- the FLOPs of bench_dcgan.
--step torch PyTorch's DCGAN example: D step on real and detached fake, then G step through a
             second D forward on the fake batch.

Prints one line "RESULT {json}" with the median iteration time, images/s and peak RSS.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn as nn


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.size(0), *self.shape)


def generator(arch):
    # TF "same" with stride 2: PyTorch padding=2 with output_padding=1 gives the same shapes.
    if arch == "tf-tutorial":
        return nn.Sequential(
            nn.Linear(100, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256, momentum=0.01, eps=1e-3),
            nn.LeakyReLU(0.3), Reshape(256, 7, 7),
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
            nn.BatchNorm2d(128, momentum=0.01, eps=1e-3), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(64, momentum=0.01, eps=1e-3), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False), nn.Tanh())
    return nn.Sequential(
        nn.Linear(100, 6272), Reshape(128, 7, 7), nn.BatchNorm2d(128, momentum=0.01, eps=1e-3),
        nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
        nn.BatchNorm2d(64, momentum=0.01, eps=1e-3),
        nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1), nn.Tanh())


def discriminator(arch):
    drop = 0.3 if arch == "tf-tutorial" else 0.5
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, stride=2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(drop),
        nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(drop),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


def make_steps(G, D, opt_g, opt_d, batch):
    """The two update modes as functions of (real, z): "tf" -- one forward pass, G's and D's
    gradients from it, both Adam steps; "torch" -- PyTorch's DCGAN example, D's step on real and
    detached fake, then G's through a second D forward on the fake batch."""
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    g_params, d_params = list(G.parameters()), list(D.parameters())

    def tf_step(real, z):
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake)
        d_loss = bce(real_logits, ones) + bce(fake_logits, zeros)
        g_loss = bce(fake_logits, ones)
        g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, d_params)
        for prm, grad in zip(g_params, g_grads):
            prm.grad = grad
        for prm, grad in zip(d_params, d_grads):
            prm.grad = grad
        opt_g.step()
        opt_d.step()

    def torch_step(real, z):
        fake = G(z)
        opt_d.zero_grad(set_to_none=True)
        (bce(D(real), ones) + bce(D(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        bce(D(fake), ones).backward()
        opt_g.step()

    return {"tf": tf_step, "torch": torch_step}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["tf-tutorial", "keras-small"], default="tf-tutorial")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--step", choices=["tf", "torch"], default="tf")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    G, D = generator(a.arch).train(), discriminator(a.arch).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(a.batch, 1, 28, 28) * 2 - 1
    steps = make_steps(G, D, opt_g, opt_d, a.batch)
    step_fn = steps[a.step]

    def step():
        step_fn(real, torch.randn(a.batch, 100))

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    blas = "?"
    for line in open("/proc/self/maps"):
        if "libblas.so" in line or "libopenblas" in line:
            blas = os.path.realpath(line.split()[-1])
            break
    print("RESULT " + json.dumps({
        "impl": "pytorch", "arch": a.arch, "batch": a.batch, "threads": a.threads, "step": a.step,
        "median_ms": med * 1e3, "min_ms": min(times) * 1e3, "images_per_s": a.batch / med,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "torch": torch.__version__, "blas": blas}))


if __name__ == "__main__":
    main()
