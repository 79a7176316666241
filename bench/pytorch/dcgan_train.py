#!/usr/bin/python3
"""PyTorch twin of a whole `dcgan train` run of the libtorch or mnist-fast networks on MNIST, for
the time-to-quality comparison (docs/results.md). Run with Debian's /usr/bin/python3 (python3-torch).

  dcgan_train.py --data data/mnist --out runs/torch-twin [--steps 8000] [--snapshot-every 1000]
                 [--arch mnist-fast|libtorch] [--batch 64] [--batch-from 5000:128] [--lr 2e-3] [--ema 0.999]
                 [--updates simultaneous|alternating] [--threads 2] [--seed 1]

The defaults are the default preset's (`dcgan presets`; --batch-from none for one batch size). The same networks as `dcgan train --arch
libtorch` or `mnist-fast` (D at half width: 32, 64, 128 channels) (ConvTranspose2d 100->256 k4, 256->128 k3 s2
p1, 128->64 k4 s2 p1, 64->1 k4 s2 p1 with BatchNorm and ReLU, tanh; D: Conv2d k4 s2 p1 to 64,
128, 256 with BatchNorm after the 2nd and 3rd, LeakyReLU 0.2, a 3x3 conv to the logit; no biases;
N(0, 0.02) weights; BatchNorm momentum 0.1, eps 1e-5), the same optimizer settings (Adam with
betas (0.5, 0.999) and tape's epsilon 1e-7), the same loss (BCE from logits), the same update
mode, the same data convention (pixels (x - 127.5) / 127.5, a fresh permutation per epoch, an epoch
ending when the next batch no longer fits, larger batches from --batch-from's steps on) and the same weight average (decay min(ema, (1 + t) / (10 + t)) after
update t; BatchNorm statistics copied). Only the random streams differ.

Every --snapshot-every steps (and at the end) it writes OUT/samples-STEP.idx: 10,000 images of the
averaged generator in inference mode, on N(0, 1) noise, as an IDX file that `dcgan eval
--samples` scores with the project's classifier; OUT/progress.csv gets the step and the seconds
of training so far (the snapshots' own time is left out). bench/time_to_quality.py scores them.
"""
import argparse
import copy
import csv
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

from dcgan_step import make_steps  # the two update modes, shared with the timing twin


def read_idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        raise SystemExit(f"dcgan_train: {path}: bad IDX magic {magic}")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, h, w)


def write_idx_images(path, images):
    # images [N, 1, 28, 28] in [-1, 1] -> u8 IDX [N, 28, 28], dcgan's rounding
    pixels = torch.clamp(torch.round(images * 127.5 + 127.5), 0, 255).to(torch.uint8).numpy()
    n, _, h, w = pixels.shape
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, h, w))
        f.write(pixels.tobytes())
    os.replace(tmp, path)


def init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)


def generator(z_dim):
    def block(cin, cout, k, s, p):
        return [nn.ConvTranspose2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5),
                nn.ReLU()]
    g = nn.Sequential(nn.Unflatten(1, (z_dim, 1, 1)), *block(z_dim, 256, 4, 1, 0), *block(256, 128, 3, 2, 1),
                      *block(128, 64, 4, 2, 1), nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False), nn.Tanh())
    g.apply(init_weights)
    return g


def discriminator(w):
    d = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                      nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w, momentum=0.1, eps=1e-5),
                      nn.LeakyReLU(0.2),
                      nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w, momentum=0.1, eps=1e-5),
                      nn.LeakyReLU(0.2),
                      nn.Conv2d(4 * w, 1, 3, 1, 0, bias=False), nn.Flatten())
    d.apply(init_weights)
    return d


@torch.no_grad()
def update_average(average, model, decay):
    for a, m in zip(average.parameters(), model.parameters()):
        a.mul_(decay).add_(m, alpha=1.0 - decay)
    for a, m in zip(average.buffers(), model.buffers()):
        a.copy_(m)


@torch.no_grad()
def snapshot(g_avg, z_dim, path, n=10000):
    g_avg.eval()
    gen = torch.Generator().manual_seed(12345)
    parts = [g_avg(torch.randn(min(500, n - i), z_dim, generator=gen)) for i in range(0, n, 500)]
    write_idx_images(path, torch.cat(parts))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--snapshot-every", type=int, default=1000)
    p.add_argument("--arch", choices=["libtorch", "mnist-fast"], default="mnist-fast",
                   help="libtorch: D of width 64; mnist-fast: D of width 32")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batch-from", default="5000:128",
                   help="STEP:BATCH[,STEP:BATCH...]: from step STEP on, BATCH images per step (dcgan --batch-from)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--z-dim", type=int, default=100)
    p.add_argument("--updates", choices=["simultaneous", "alternating"], default="simultaneous")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    images = read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte"))
    data = (torch.from_numpy(images.astype(np.float32)) - 127.5) / 127.5
    G, D = generator(a.z_dim).train(), discriminator(64 if a.arch == "libtorch" else 32).train()
    G_avg = copy.deepcopy(G)
    opt_g = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(a.beta1, 0.999), eps=1e-7)
    opt_d = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(a.beta1, 0.999), eps=1e-7)
    changes = [] if a.batch_from == "none" else [tuple(int(v) for v in part.split(":")) for part in a.batch_from.split(",") if part]
    steps_for = {}  # batch size -> the update functions for it

    def batch_at(steps_done):
        return ([a.batch] + [b for s, b in changes if steps_done >= s])[-1]

    mode = "tf" if a.updates == "simultaneous" else "torch"
    progress = open(os.path.join(a.out, "progress.csv"), "w", newline="")
    log = csv.writer(progress)
    log.writerow(["step", "wall_time", "samples"])
    trained = 0.0
    order, position = torch.randperm(data.shape[0]), 0  # like dcgan: batches by image position in the epoch
    for step in range(1, a.steps + 1):
        t0 = time.perf_counter()
        batch = batch_at(step - 1)
        if position + batch > data.shape[0]:
            order, position = torch.randperm(data.shape[0]), 0
        real = data[order[position:position + batch]]
        position += batch
        if batch not in steps_for:
            steps_for[batch] = make_steps(G, D, opt_g, opt_d, batch)[mode]
        steps_for[batch](real, torch.randn(batch, a.z_dim))
        update_average(G_avg, G, min(a.ema, (1.0 + step) / (10.0 + step)))
        trained += time.perf_counter() - t0
        if step % a.snapshot_every == 0 or step == a.steps:
            path = os.path.join(a.out, f"samples-{step:08d}.idx")
            snapshot(G_avg, a.z_dim, path)
            log.writerow([step, f"{trained:.3f}", path])
            progress.flush()
            print(f"step {step}: {trained:.1f} s of training, wrote {path}", flush=True)
    progress.close()


if __name__ == "__main__":
    main()
