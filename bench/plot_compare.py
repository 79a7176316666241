#!/usr/bin/python3
"""Draw compare.py's table as an SVG bar chart: tape's and PyTorch's ms per iteration, side by side.

  bench/compare.py ... | tee compare.txt
  bench/plot_compare.py compare.txt docs/images/compare.svg

One group of bars per (network, batch, threads), each bar labelled with its ms and the group with
the ratio tape / PyTorch. Times are scaled per group (the longer bar fills the group's height), so
batch 64 and batch 256 read equally well. Plain SVG, no plotting library needed.
"""
import sys

WIDTH, GROUP_H, BAR_H, LEFT, RIGHT, TOP = 900, 46, 16, 190, 150, 40
TAPE, TORCH = "#2b6cb0", "#c05621"


def parse(path):
    rows = []
    for line in open(path):
        p = line.split()
        if len(p) in (10, 11) and p[0] in ("tf-tutorial", "keras-small"):  # 11: with the rounds' ceiling
            rows.append({"arch": p[0], "batch": p[1], "threads": p[2], "tape": float(p[3]),
                         "torch": float(p[4]), "ratio": float(p[5])})
    if not rows:
        sys.exit(f"plot_compare: no table rows in {path} (expects compare.py's printed table)")
    return rows


def bar(y, ms, longest, colour):
    span = WIDTH - LEFT - RIGHT
    w = span * ms / longest
    return (f'<rect x="{LEFT}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{colour}"/>'
            f'<text x="{LEFT + w + 6:.1f}" y="{y + BAR_H - 4}" font-size="12">{ms:.0f} ms</text>')


def svg(rows):
    height = TOP + GROUP_H * len(rows) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">One DCGAN training iteration: '
           f'tape vs PyTorch (ms, shorter is better)</text>',
           f'<rect x="{LEFT}" y="26" width="12" height="10" fill="{TAPE}"/>'
           f'<text x="{LEFT + 16}" y="35" font-size="12">tape</text>'
           f'<rect x="{LEFT + 70}" y="26" width="12" height="10" fill="{TORCH}"/>'
           f'<text x="{LEFT + 86}" y="35" font-size="12">PyTorch 1.13 (OpenBLAS)</text>']
    for i, r in enumerate(rows):
        y = TOP + i * GROUP_H
        longest = max(r["tape"], r["torch"])
        label = f'{r["arch"]}, batch {r["batch"]}, {r["threads"]} thr'
        out.append(f'<text x="{LEFT - 8}" y="{y + BAR_H + 4}" font-size="12" text-anchor="end">{label}</text>')
        out.append(bar(y, r["tape"], longest, TAPE))
        out.append(bar(y + BAR_H + 2, r["torch"], longest, TORCH))
        out.append(f'<text x="{WIDTH - 10}" y="{y + BAR_H + 4}" font-size="13" text-anchor="end" '
                   f'font-weight="bold">{r["ratio"]:.2f}x</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[2], "w") as f:
        f.write(svg(parse(sys.argv[1])))


if __name__ == "__main__":
    main()
