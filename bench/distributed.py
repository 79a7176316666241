#!/usr/bin/env python3
"""The DCGAN step on one process against two (mpirun), over shared memory and over TCP loopback.

Runs bench_distributed for each configuration, alternating them round by round so that a noisy
machine hits all alike, and prints a markdown table of the medians: milliseconds per step, the
gradient all-reduce's share of the step, and the bytes each process reduces per step.

    python3 bench/distributed.py --build build --rounds 3 --json runs/distributed.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CONFIGS = [  # (label, processes, threads per process, extra mpirun arguments)
    ("1 process x 1 thread", 1, 1, None),
    ("1 process x 2 threads", 1, 2, None),
    ("2 processes x 1 thread, shared memory", 2, 1, []),
    ("2 processes x 1 thread, TCP loopback", 2, 1, ["--mca", "btl", "tcp,self"]),
]


def run(exe, arch, batch, processes, threads, mpi_args, steps):
    cmd = [exe, "--arch", arch, "--batch", str(batch), "--threads", str(threads), "--steps", str(steps)]
    if mpi_args is not None:
        cmd = ["mpirun", "-np", str(processes), "--oversubscribe"] + mpi_args + cmd
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--archs", default="mnist-fast,tf-tutorial")
    ap.add_argument("--batches", default="64,128")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--json", help="also write every measurement here")
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "bench_distributed")
    results = {}
    for r in range(a.rounds):
        for arch in a.archs.split(","):
            for batch in map(int, a.batches.split(",")):
                for label, processes, threads, mpi_args in CONFIGS:
                    m = run(exe, arch, batch, processes, threads, mpi_args, a.steps)
                    results.setdefault((arch, batch, label), []).append(m)
                    print(f"round {r + 1}: {arch} b{batch} {label}: {m['ms_per_step']:.1f} ms/step, "
                          f"all-reduce {100 * m['allreduce_share']:.1f}%", file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"arch": k[0], "batch": k[1], "config": k[2], "runs": v} for k, v in results.items()], f, indent=1)
    print("| network | global batch | processes x threads | ms per step (median) | vs 1 x 2 | all-reduce share | MB reduced per process per step |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for arch in a.archs.split(","):
        for batch in map(int, a.batches.split(",")):
            base = statistics.median(m["ms_per_step"] for m in results[(arch, batch, CONFIGS[1][0])])
            for label, processes, _, _ in CONFIGS:
                runs = results[(arch, batch, label)]
                ms = statistics.median(m["ms_per_step"] for m in runs)
                share = statistics.median(m["allreduce_share"] for m in runs)
                mb = runs[0]["bytes_per_step"] / 1e6
                print(f"| {arch} | {batch} | {label} | {ms:.1f} | {ms / base:.2f} | "
                      f"{'' if processes == 1 else f'{100 * share:.1f}%'} | {'' if processes == 1 else f'{mb:.2f}'} |")


if __name__ == "__main__":
    main()
