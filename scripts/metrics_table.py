#!/usr/bin/env python3
"""metrics_table.py: a run's metrics.csv (dcgan train --eval-every) as a Markdown table.

  python3 scripts/metrics_table.py runs/NAME [--every N] [--real metrics.json]

Prints one row per evaluation whose step is a multiple of N (default: every row), plus the last
row, with the wall-clock time in minutes; with --real, a last row for the "real test" entry of a
metrics.json written by dcgan eval. Standard library only.
"""
import argparse
import csv
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="the run folder (holds metrics.csv)")
    parser.add_argument("--every", type=int, default=0, help="keep steps that are multiples of this")
    parser.add_argument("--real", help="metrics.json from dcgan eval: add its real-test-set row")
    args = parser.parse_args()
    try:
        with open(f"{args.run}/metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"metrics_table: {e}")
    if not rows:
        sys.exit(f"metrics_table: {args.run}/metrics.csv has no rows")
    keep = [r for r in rows if args.every <= 0 or int(r["step"]) % args.every == 0]
    if keep[-1] is not rows[-1]:
        keep.append(rows[-1])
    print("| step | minutes | MNIST score | FID | KID x 1e3 | precision | recall | classes >= 1% | smallest / largest class | KL to test |")
    print("| ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |")
    for r in keep:
        hist = [float(r[f"h{i}"]) for i in range(10)]
        print(f"| {int(r['step']):,} | {float(r['wall_time']) / 60:.1f} | {float(r['mnist_score']):.2f} ± "
              f"{float(r['mnist_score_std']):.2f} | {float(r['fid']):.1f} | {1e3 * float(r['kid']):.0f} ± "
              f"{1e3 * float(r['kid_se']):.0f} | {float(r['precision']):.3f} | {float(r['recall']):.3f} | "
              f"{r['classes_present']} | {100 * min(hist):.1f}% / {100 * max(hist):.1f}% | {float(r['kl_to_test']):.4f} |")
    if args.real:
        try:
            with open(args.real) as f:
                real = json.load(f)["real test"]
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"metrics_table: {args.real}: {e}")
        hist = real["class_histogram"]
        print(f"| real test images | | {real['mnist_score']:.2f} ± {real['mnist_score_std']:.2f} | {real['fid']:.1f} | "
              f"{1e3 * real['kid']:.0f} ± {1e3 * real['kid_se']:.0f} | {real['precision']:.3f} | {real['recall']:.3f} | "
              f"{real['classes_present']} | {100 * min(hist):.1f}% / {100 * max(hist):.1f}% | {real['kl_to_test']:.4f} |")


if __name__ == "__main__":
    main()
