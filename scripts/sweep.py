#!/usr/bin/env python3
"""sweep.py: train candidate DCGAN recipes one after another and tabulate their quality.

  python3 scripts/sweep.py SPEC.json [--out runs/sweep] [--only NAME,...] [--dry-run]

SPEC.json names the candidates (see scripts/sweeps/ for the committed ones):

  {"common": ["--data", "data/mnist", "--eval-every", "1000", ...],
   "runs": {"A-baseline": ["--preset", "libtorch", "--steps", "5000"],
            "B-branch": {"from": "A-baseline", "step": 3000, "args": ["--preset", "libtorch", ...]}, ...}}

A branch starts from another candidate's checkpoint at `step` (run the trunk first, with a
checkpoint at that step kept): its folder gets the trunk's config, histories and checkpoints up
to that step, and it continues with --resume and its own args -- one change measured from the
same point, for the cost of the steps after it.

Each candidate runs as `dcgan train <common> <its own args> --out OUT/NAME`, with --eval-every in
the common args so that its metrics.csv holds the MNIST score over steps and wall-clock. The sweep
is resumable: a candidate whose metrics.csv already reaches its last step is skipped, one that was
stopped part-way continues with --resume from its newest checkpoint. After each candidate (and
with --table alone) it writes OUT/summary.md: one row per candidate with its last evaluation and
the minutes it took to reach 80% and 90% of the real test set's score. Standard library only.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_spec(path):
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"sweep: {path}: {e}")
    if not isinstance(spec.get("runs"), dict) or not spec["runs"]:
        sys.exit(f"sweep: {path} has no \"runs\" object")
    return spec.get("common", []), spec["runs"]


def read_rows(run_dir):
    try:
        with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def total_steps(run_dir):
    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            return int(json.load(f)["total_steps"])
    except (OSError, ValueError, KeyError):
        return None


def finished(run_dir):
    rows, total = read_rows(run_dir), total_steps(run_dir)
    return bool(rows) and total is not None and int(rows[-1]["step"]) >= total


def has_checkpoint(run_dir):
    ckpt = os.path.join(run_dir, "checkpoints")
    return os.path.isdir(ckpt) and any(n.endswith(".safetensors") for n in os.listdir(ckpt))


def candidate_args(candidate):
    return candidate["args"] if isinstance(candidate, dict) else candidate


def checkpoint_step(name):
    """ckpt-00005000.safetensors -> 5000"""
    return int(name[len("ckpt-"):-len(".safetensors")])


def start_branch(out, name, candidate, dry_run):
    """Copies the trunk's run up to the branch step into OUT/NAME (once)."""
    trunk, step = os.path.join(out, candidate["from"]), int(candidate["step"])
    run_dir = os.path.join(out, name)
    if has_checkpoint(run_dir):
        return
    source = os.path.join(trunk, "checkpoints", f"ckpt-{step:08d}.safetensors")
    if not os.path.isfile(source):
        sys.exit(f"sweep: {name} branches from {source}, which does not exist (run {candidate['from']} first, "
                 f"keeping a checkpoint at step {step})")
    print(f"sweep: {name} starts from {source}", flush=True)
    if dry_run:
        return
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    for f in ("config.json", "losses.csv", "metrics.csv"):
        if os.path.isfile(os.path.join(trunk, f)):
            shutil.copy2(os.path.join(trunk, f), os.path.join(run_dir, f))
    for f in os.listdir(os.path.join(trunk, "checkpoints")):
        if f.startswith("ckpt-") and f.endswith(".safetensors") and checkpoint_step(f) <= step:
            shutil.copy2(os.path.join(trunk, "checkpoints", f), os.path.join(run_dir, "checkpoints", f))


def run_one(dcgan, common, args, run_dir, dry_run):
    cmd = [dcgan, "train", *common, *args, "--out", run_dir]
    if has_checkpoint(run_dir):
        cmd.append("--resume")
    print("sweep:", " ".join(cmd), flush=True)
    if dry_run:
        return
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "train.log"), "a") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    if rc != 0:
        print(f"sweep: {os.path.basename(run_dir)} exited with {rc}; see {run_dir}/train.log", file=sys.stderr)


def minutes_to(rows, fraction, real_score):
    for r in rows:
        if float(r["mnist_score"]) >= fraction * real_score:
            return f"{float(r['wall_time']) / 60:.1f}"
    return "-"


def real_score(out):
    """The real test set's score, from any candidate's train.log line 'MNIST score x (real y)'."""
    for name in sorted(os.listdir(out)):
        log = os.path.join(out, name, "train.log")
        if os.path.isfile(log):
            with open(log, errors="replace") as f:
                for line in f:
                    if "(real " in line:
                        return float(line.split("(real ")[1].split(")")[0])
    return None


def write_summary(out, names, runs):
    real = real_score(out)
    lines = ["| candidate | arguments | steps | minutes | MNIST score | % of real | FID | precision | recall | "
             "smallest / largest class | min to 80% | min to 90% |",
             "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for name in names:
        rows = read_rows(os.path.join(out, name))
        if len(rows) < 2:
            continue
        r = rows[-1]
        hist = [float(r[f"h{i}"]) for i in range(10)]
        score = float(r["mnist_score"])
        pct = f"{100 * score / real:.0f}%" if real else "-"
        lines.append(
            f"| {name} | `{' '.join(candidate_args(runs[name]))}` | {int(r['step']):,} | {float(r['wall_time']) / 60:.1f} | "
            f"{score:.2f} ± {float(r['mnist_score_std']):.2f} | {pct} | {float(r['fid']):.1f} | "
            f"{float(r['precision']):.3f} | {float(r['recall']):.3f} | {100 * min(hist):.1f}% / {100 * max(hist):.1f}% | "
            f"{minutes_to(rows, 0.8, real) if real else '-'} | {minutes_to(rows, 0.9, real) if real else '-'} |")
    if real:
        lines.append(f"\nReal test set: MNIST score {real:.2f}; 80% = {0.8 * real:.2f}, 90% = {0.9 * real:.2f}.")
    tmp = os.path.join(out, "summary.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(out, "summary.md"))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", help="the sweep's JSON file")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "sweep"), help="folder of the candidates' runs")
    parser.add_argument("--only", default="", help="comma-separated candidate names to run, in this order (default: all)")
    parser.add_argument("--dcgan", default=os.path.join(ROOT, "build", "examples", "dcgan", "dcgan"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--table", action="store_true", help="only write summary.md from what is there")
    args = parser.parse_args()
    common, runs = load_spec(args.spec)
    names = args.only.split(",") if args.only else list(runs)  # in the order --only gives
    unknown = set(args.only.split(",")) - set(runs) if args.only else set()
    if unknown:
        sys.exit(f"sweep: no candidate named {', '.join(sorted(unknown))} in {args.spec}")
    os.makedirs(args.out, exist_ok=True)
    if not args.table:
        if not os.access(args.dcgan, os.X_OK):
            sys.exit(f"sweep: {args.dcgan} is not built (bash scripts/build.sh)")
        for name in names:
            run_dir = os.path.join(args.out, name)
            if finished(run_dir):
                print(f"sweep: {name} is done", flush=True)
                continue
            if isinstance(runs[name], dict):
                start_branch(args.out, name, runs[name], args.dry_run)
            run_one(args.dcgan, common, candidate_args(runs[name]), run_dir, args.dry_run)
            if not args.dry_run:
                write_summary(args.out, names, runs)
    write_summary(args.out, names, runs)


if __name__ == "__main__":
    main()
