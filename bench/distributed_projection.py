#!/usr/bin/env python3
"""Projects data-parallel DCGAN training to clusters from figures measured on this machine.

Measures (bench_distributed) the step time of one node (1 process x 2 threads) at local batches
8..256 and fits t(b) = a + c b; takes the gradient bytes S per step from the same runs; then for
N = 2..64 nodes on 10 and 100 Gbit/s links models one step as

    T(N) = t(B / N) + 2 (N - 1) / N * S / bandwidth + 2 (N - 1) * latency

(a ring all-reduce after the backward pass, not overlapped with it, as tape::distributed does)
and prints the speed-up t(B) / T(N) and the efficiency speed-up / N for each global batch B, and
the local batch below which the all-reduce is more than a quarter of the step.

    python3 bench/distributed_projection.py --build build --arch mnist-fast --global-batch 256,1024
"""
import argparse
import json
import os
import statistics
import subprocess

LINKS = [  # name, bytes/s (90% of the line rate), latency per message step
    ("10 Gbit/s Ethernet (TCP)", 0.9 * 10e9 / 8, 25e-6),
    ("100 Gbit/s (RDMA)", 0.9 * 100e9 / 8, 3e-6),
]


def measure(exe, arch, batch, rounds):
    runs = []
    for _ in range(rounds):
        out = subprocess.run([exe, "--arch", arch, "--batch", str(batch), "--threads", "2", "--steps", "20"],
                             check=True, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS="2")).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return statistics.median(r["ms_per_step"] for r in runs) / 1e3, runs[0]["trainable_parameters"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--arch", default="mnist-fast")
    ap.add_argument("--global-batch", type=lambda text: [int(x) for x in text.split(",")], default=[256, 1024])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "bench_distributed")
    batches = [8, 16, 32, 64, 128, 256]
    times = {}
    for b in batches:
        times[b], params = measure(exe, a.arch, b, a.rounds)
    n = len(batches)
    mean_b, mean_t = sum(batches) / n, sum(times.values()) / n
    c = sum((b - mean_b) * (times[b] - mean_t) for b in batches) / sum((b - mean_b) ** 2 for b in batches)
    fixed = mean_t - c * mean_b
    s = 4.0 * params
    print(f"{a.arch}: {params:,} trainable parameters, S = {s / 1e6:.2f} MB of gradients per step")
    print("measured step of one node (1 process x 2 threads): " +
          ", ".join(f"b{b} {1e3 * times[b]:.1f} ms" for b in batches))
    print(f"fit t(b) = {1e3 * fixed:.1f} ms + {1e3 * c:.3f} ms x b\n")

    def t(b):
        return fixed + c * b

    for big in a.global_batch:
        print(f"Global batch {big}:\n")
        print("| link | nodes | local batch | compute ms | all-reduce ms | speed-up | efficiency |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, bw, lat in LINKS:
            for nodes in (2, 4, 8, 16, 32, 64):
                local = big / nodes
                comm = allreduce_seconds(nodes, s, bw, lat)
                speedup = t(big) / (t(local) + comm)
                print(f"| {name} | {nodes} | {local:g} | {1e3 * t(local):.1f} | {1e3 * comm:.2f} | {speedup:.1f} | "
                      f"{100 * speedup / nodes:.0f}% |")
        print()
    print(f"The fixed {1e3 * fixed:.1f} ms per step (per-layer overheads, small GEMMs, Adam over every weight) does not "
          f"shrink with the local batch: it bounds the speed-up of a global batch B at t(B) / t(0), e.g. "
          + ", ".join(f"{t(b) / fixed:.0f} for B = {b}" for b in a.global_batch) + ".")
    for name, bw, lat in LINKS:
        for nodes in (8, 64):
            comm = allreduce_seconds(nodes, s, bw, lat)
            b_quarter = max((3 * comm - fixed) / c, 0.0)  # all-reduce = a quarter of the step
            where = (f"more than a quarter of the step at a local batch of {b_quarter:.0f} or less" if b_quarter >= 1
                     else "less than a quarter of the step at any local batch")
            print(f"{name}, {nodes} nodes: the all-reduce takes {1e3 * comm:.2f} ms, {where}")


def allreduce_seconds(nodes, size, bandwidth, latency):
    return 2 * (nodes - 1) / nodes * size / bandwidth + 2 * (nodes - 1) * latency


if __name__ == "__main__":
    main()
