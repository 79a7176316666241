#!/usr/bin/env python3
"""time_to_quality.py: the same recipe trained by tape and by its PyTorch twin, both scored by the
project's MNIST classifier, as the MNIST score against seconds of training.

  python3 bench/time_to_quality.py --tape runs/ttq-tape --torch runs/ttq-torch [--dcgan build/examples/dcgan/dcgan]

--tape   a `dcgan train` run folder whose checkpoints were kept (--checkpoint-every N
         --keep-checkpoints 100); the seconds of each come from its losses.csv
--torch  a bench/pytorch/dcgan_train.py output folder (progress.csv and samples-*.idx)

Each checkpoint is scored with `dcgan eval --checkpoint`, each PyTorch snapshot with `dcgan eval
--samples` (10,000 images each, the same classifier and reference images). Scores are cached in
each folder (ttq.csv), so a second call only tabulates. Prints a Markdown table per run and the
minutes each took to first reach 80% and 90% of the real test set's score, with tape / PyTorch.
Standard library only.
"""
import argparse
import csv
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL_ARGS = []  # --classifier / --data, passed on to dcgan eval


def score(dcgan, args, json_path):
    if not os.path.isfile(json_path):
        cmd = [dcgan, "eval", *args, *EVAL_ARGS, "--json", json_path]
        print("time_to_quality:", " ".join(cmd), flush=True)
        if subprocess.call(cmd, stdout=subprocess.DEVNULL) != 0:
            sys.exit(f"time_to_quality: {' '.join(cmd)} failed")
    with open(json_path) as f:
        doc = json.load(f)
    return doc["generated"], doc["real test"]


def tape_points(run, dcgan, every):
    seconds = {}
    with open(os.path.join(run, "losses.csv"), newline="") as f:
        for r in csv.DictReader(f):
            seconds[int(r["step"])] = float(r["wall_time"])
    points = []
    for ckpt in sorted(glob.glob(os.path.join(run, "checkpoints", "ckpt-*.safetensors"))):
        step = int(re.search(r"ckpt-(\d+)", ckpt).group(1))
        if step % every != 0:
            continue  # the end-of-epoch checkpoints
        gen, real = score(dcgan, ["--checkpoint", ckpt], os.path.join(run, f"ttq-{step:08d}.json"))
        points.append((step, seconds[step], gen, real))
    return points


def torch_points(run, dcgan):
    points = []
    with open(os.path.join(run, "progress.csv"), newline="") as f:
        for r in csv.DictReader(f):
            step = int(r["step"])
            gen, real = score(dcgan, ["--samples", r["samples"]], os.path.join(run, f"ttq-{step:08d}.json"))
            points.append((step, float(r["wall_time"]), gen, real))
    return points


def minutes_to(points, target):
    for step, secs, gen, _ in points:
        if gen["mnist_score"] >= target:
            return secs / 60
    return None


def table(name, points, real_score):
    print(f"\n{name}:\n")
    print("| step | minutes | MNIST score | % of real | FID | precision | recall | smallest / largest class |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for step, secs, g, _ in points:
        h = g["class_histogram"]
        print(f"| {step:,} | {secs / 60:.1f} | {g['mnist_score']:.2f} ± {g['mnist_score_std']:.2f} | "
              f"{100 * g['mnist_score'] / real_score:.0f}% | {g['fid']:.1f} | {g['precision']:.3f} | "
              f"{g['recall']:.3f} | {100 * min(h):.1f}% / {100 * max(h):.1f}% |")


def fmt(m):
    return "not reached" if m is None else f"{m:.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tape", required=True)
    p.add_argument("--torch", required=True)
    p.add_argument("--every", type=int, default=1000, help="score the tape checkpoints at multiples of this step")
    p.add_argument("--dcgan", default=os.path.join(ROOT, "build", "examples", "dcgan", "dcgan"))
    p.add_argument("--classifier", help="passed to dcgan eval (default: its own)")
    p.add_argument("--data", help="MNIST folder, passed to dcgan eval")
    a = p.parse_args()
    if a.classifier:
        EVAL_ARGS.extend(["--classifier", a.classifier])
    if a.data:
        EVAL_ARGS.extend(["--data", a.data])
    tape = tape_points(a.tape, a.dcgan, a.every)
    torch = torch_points(a.torch, a.dcgan)
    if not tape or not torch:
        sys.exit("time_to_quality: no checkpoints or snapshots to score")
    real = tape[0][3]["mnist_score"]
    table(f"tape ({a.tape})", tape, real)
    table(f"PyTorch twin ({a.torch})", torch, real)
    print("\n| target | tape minutes | PyTorch minutes | tape / PyTorch |")
    print("| --- | ---: | ---: | ---: |")
    for frac in (0.8, 0.9):
        mt, mp = minutes_to(tape, frac * real), minutes_to(torch, frac * real)
        ratio = f"{mt / mp:.2f}" if mt is not None and mp is not None else "-"
        print(f"| {int(frac * 100)}% of real ({frac * real:.2f}) | {fmt(mt)} | {fmt(mp)} | {ratio} |")


if __name__ == "__main__":
    main()
