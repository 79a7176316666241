#!/usr/bin/env python3
"""dcgan train under mpirun -np 2 on a small synthetic MNIST-format data set (no download):

- two runs with the same seed write byte-identical checkpoints (bit-identical training);
- a run stopped at step 8 and resumed under mpirun ends with the uninterrupted run's checkpoint;
- with --sync-batch-norm the 2-process run matches one process with the same global batch to
  float rounding amplified by Adam (the relative L2 difference of all weights is printed), and
  closer than with per-process BatchNorm;
- rank 0 alone writes the run folder (one losses.csv row per step, config.json says 2 processes);
- a global batch that does not split over the processes is refused with a clear message.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
from array import array


def write_idx(folder, n, seed):
    """n 28x28 images of bright rectangles on black, with labels, as MNIST's IDX files."""
    rng = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    pixels = bytearray(n * 28 * 28)
    for i in range(n):
        x0, y0 = rng.randrange(2, 14), rng.randrange(2, 14)
        w, h = rng.randrange(4, 12), rng.randrange(4, 12)
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                pixels[i * 784 + y * 28 + x] = rng.randrange(128, 256)
    labels = bytes(rng.randrange(10) for _ in range(n))
    for prefix in ("train", "t10k"):
        with open(os.path.join(folder, prefix + "-images-idx3-ubyte"), "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(pixels))
        with open(os.path.join(folder, prefix + "-labels-idx1-ubyte"), "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + labels)


def read_safetensors(path):
    """{name: list of floats} of a safetensors file (F32 and F64 tensors)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    body = data[8 + header_size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in ("F32", "F64"):
            continue
        begin, end = info["data_offsets"]
        values = array("f" if info["dtype"] == "F32" else "d")
        values.frombytes(body[begin:end])
        out[name] = values
    return out


def weight_difference(path_a, path_b):
    """||a - b|| / ||b|| over every weight and moving statistic (not the optimizer's slots). Adam
    turns rounding noise in gradients that are zero in exact arithmetic (a bias before BatchNorm)
    into steps of +-lr, so single tensors drift by a few percent while the whole moves by 1e-3."""
    a, b = read_safetensors(path_a), read_safetensors(path_b)
    assert a.keys() == b.keys()
    num = den = 0.0
    for name, values in b.items():
        if "/optimizer/" in name:
            continue
        num += sum((x - y) ** 2 for x, y in zip(a[name], values))
        den += sum(y * y for y in values)
    return (num / den) ** 0.5


def run(cmd, expect_ok=True):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if expect_ok and p.returncode != 0:
        print(p.stdout)
        sys.exit(f"FAILED: exit code {p.returncode}")
    return p


def checkpoint(out, step):
    return os.path.join(out, "checkpoints", f"ckpt-{step:08d}.safetensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dcgan", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    shutil.rmtree(a.work, ignore_errors=True)
    data = os.path.join(a.work, "data")
    write_idx(data, 256, 5)
    mpi = [a.mpirun, "-np", "2", "--oversubscribe"]
    train = [a.dcgan, "train", "--data", data, "--no-checksum", "--arch", "keras-small", "--batch", "16",
             "--checkpoint-every", "4", "--keep-checkpoints", "10", "--seed", "3", "--threads", "1", "--sync-batch-norm"]
    out = {k: os.path.join(a.work, k) for k in ("first", "again", "resumed", "single", "per_process")}

    p = run(mpi + train + ["--steps", "12", "--out", out["first"]])
    assert p.stdout.count("Done: 12 steps") == 1, "rank 0 alone reports"
    run(mpi + train + ["--steps", "12", "--out", out["again"]])
    with open(checkpoint(out["first"], 12), "rb") as f1, open(checkpoint(out["again"], 12), "rb") as f2:
        assert f1.read() == f2.read(), "two runs with the same seed and 2 processes differ"
    print("same seed, 2 processes, twice: byte-identical checkpoints at step 12")

    run(mpi + train + ["--steps", "8", "--out", out["resumed"]])
    p = run(mpi + train + ["--steps", "12", "--resume", "--out", out["resumed"]])
    assert "Resumed from" in p.stdout and p.stdout.count("Resumed from") == 1
    with open(checkpoint(out["first"], 12), "rb") as f1, open(checkpoint(out["resumed"], 12), "rb") as f2:
        assert f1.read() == f2.read(), "the resumed run's step-12 checkpoint differs from the uninterrupted run's"
    print("stopped at step 8 and resumed under mpirun: the uninterrupted run's checkpoint at step 12")

    with open(os.path.join(out["first"], "config.json")) as f:
        assert json.load(f)["processes"] == 2
    with open(os.path.join(out["first"], "losses.csv")) as f:
        rows = [line for line in f.read().splitlines()[1:] if line]
    assert len(rows) == 12, f"losses.csv has {len(rows)} rows, not 12"

    run(train + ["--steps", "12", "--out", out["single"]])
    per_process = [x for x in train if x != "--sync-batch-norm"]
    run(mpi + per_process + ["--steps", "12", "--out", out["per_process"]])
    synced = weight_difference(checkpoint(out["first"], 12), checkpoint(out["single"], 12))
    unsynced = weight_difference(checkpoint(out["per_process"], 12), checkpoint(out["single"], 12))
    print(f"2 processes against 1 after 12 steps, relative L2 difference of all weights: "
          f"{synced:.2e} with synchronized BatchNorm, {unsynced:.2e} with per-process BatchNorm")
    assert synced < 3e-3, "the 2-process run with synchronized BatchNorm drifted from one process's"
    assert unsynced > 3 * synced, "per-process BatchNorm should differ from one process more than synchronized does"

    p = run(mpi + [a.dcgan, "train", "--data", data, "--no-checksum", "--arch", "keras-small", "--batch", "15",
                   "--steps", "2", "--out", os.path.join(a.work, "odd")], expect_ok=False)
    assert p.returncode != 0 and "does not split into 2 equal shares" in p.stdout, p.stdout
    print("--batch 15 on 2 processes: refused")
    print("PASSED")


if __name__ == "__main__":
    main()
