#!/usr/bin/env python3
"""Crash test of `dcgan train`: kill it with SIGKILL at random moments, resume, and check.

A short run (a few hundred MNIST images, a checkpoint and a sample grid every few steps,
TensorBoard on) is trained once without interruption as the reference, then again while being
killed with SIGKILL and resumed with --resume each time: every other kill at a random moment
(mostly during steps), the others while a file is being written (a temporary file of a
checkpoint, grid, GIF or CSV rewrite exists; the script polls for one). After every kill the script checks that

  - every complete-named file in the run folder is whole: each checkpoint parses as safetensors
    with its data exactly filling the file, each PNG has every chunk's CRC right and ends in IEND,
    progress.gif ends with its trailer, config.json parses, losses.csv has its header and numeric
    rows (only its last line may be cut short: an append the kill interrupted, which --resume
    drops), and every TensorBoard record's CRCs are right (only a file's last record may be cut);
  - the resumed run starts from the newest checkpoint there was (its "Resumed from" line);

and at the end that the final checkpoint is byte-for-byte the reference run's, and that losses.csv
holds the same losses step for step. Exit status 0 when every check held.

    python3 scripts/crash_test.py --dcgan build/examples/dcgan/dcgan --data data/mnist --kills 20
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TRAIN_ARGS = ["--arch", "mnist-fast", "--max-images", "384", "--batch", "32", "--batch-from", "none",
              "--steps", "150", "--checkpoint-every", "10", "--keep-checkpoints", "3",
              "--sample-every", "10", "--eval-every", "0", "--tensorboard", "--ema", "0.999",
              "--seed", "3", "--threads", "2"]


# ----------------------------------------------------------------------------- file checks

def check_safetensors(path):
    data = open(path, "rb").read()
    if len(data) < 8:
        return "shorter than its 8-byte header length"
    n = struct.unpack("<Q", data[:8])[0]
    if 8 + n > len(data):
        return "header runs past the end"
    header = json.loads(data[8:8 + n])
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, stop = entry["data_offsets"]
        if not 0 <= begin <= stop:
            return "bad offsets for " + name
        end = max(end, stop)
    if 8 + n + end != len(data):
        return "data ends at %d, the file at %d" % (8 + n + end, len(data))
    return None


def check_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    at, last = 8, None
    while at < len(data):
        if at + 12 > len(data):
            return "a chunk cut short"
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 4:at + 8 + length]
        if at + 12 + length > len(data):
            return "chunk %s cut short" % kind
        if zlib.crc32(body) != struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]:
            return "bad CRC in chunk %s" % kind
        at, last = at + 12 + length, kind
    return None if last == b"IEND" else "no IEND chunk"


def check_gif(path):
    data = open(path, "rb").read()
    if data[:6] not in (b"GIF87a", b"GIF89a") or data[-1:] != b";":
        return "no GIF header or trailer"
    return None


CSV_LINE = re.compile(r"^-?[0-9.e+\-naif]+(,-?[0-9.e+\-naif]+)*$")


def check_csv(path, allow_torn_tail):
    text = open(path).read()
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail and not allow_torn_tail:
        return "last line cut short"
    if not lines or not lines[0].startswith("step,"):
        return "no header"
    width = lines[0].count(",")
    for number, line in enumerate(lines[1:], 2):
        if line and (not CSV_LINE.match(line) or line.count(",") != width):
            return "line %d is not %d numbers: %r" % (number, width + 1, line)
    return None


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def check_events(path):
    data = open(path, "rb").read()
    at = 0
    while at < len(data):
        if at + 12 > len(data):
            return "torn"
        length = struct.unpack("<Q", data[at:at + 8])[0]
        if struct.unpack("<I", data[at + 8:at + 12])[0] != masked_crc(data[at:at + 8]):
            return "bad length CRC at byte %d" % at
        if at + 16 + length > len(data):
            return "torn"
        body = data[at + 12:at + 12 + length]
        if struct.unpack("<I", data[at + 12 + length:at + 16 + length])[0] != masked_crc(body):
            return "bad data CRC at byte %d" % at
        at += 16 + length
    return None


def check_run_folder(run):
    """Returns (problems, notes): problems break the promise; notes are expected leftovers."""
    problems, notes = [], []
    for root, _, files in os.walk(run):
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, run)
            if re.search(r"\.tmp-[A-Za-z0-9]{6}$", name):
                notes.append("temporary " + rel)
                continue
            if name.endswith(".safetensors"):
                error = check_safetensors(path)
            elif name.endswith(".png"):
                error = check_png(path)
            elif name.endswith(".gif"):
                error = check_gif(path)
            elif name == "config.json":
                try:
                    json.load(open(path))
                    error = None
                except ValueError as e:
                    error = "not JSON: %s" % e
            elif name.endswith(".csv"):
                error = check_csv(path, allow_torn_tail=True)
                if error is None and not open(path).read().endswith("\n"):
                    notes.append("cut last line in " + rel)
            elif name.startswith("events.out.tfevents"):
                error = check_events(path)
                if error == "torn":
                    notes.append("cut last record in " + rel)
                    error = None
            else:
                error = None
            if error:
                problems.append("%s: %s" % (rel, error))
    return problems, notes


# ----------------------------------------------------------------------------- runs

def checkpoints(run):
    folder = os.path.join(run, "checkpoints")
    if not os.path.isdir(folder):
        return []
    return sorted(f for f in os.listdir(folder) if re.fullmatch(r"ckpt-\d+\.safetensors", f))


def command(args, run, resume):
    return [args.dcgan, "train", "--data", args.data, "--out", run] + TRAIN_ARGS + (["--resume"] if resume else [])


def wait_for_temporary(run, process, after):
    """Sleeps `after` seconds, then polls until a file is being written atomically (a .tmp- file
    exists: a checkpoint, a grid, the GIF, a rewrite of losses.csv), the process ends, or 5 s pass."""
    time.sleep(after)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and process.poll() is None:
        for root, _, files in os.walk(run):
            if any(re.search(r"\.tmp-[A-Za-z0-9]{6}$", f) for f in files):
                return
        time.sleep(0.0005)


def losses(run):
    rows = [line.split(",") for line in open(os.path.join(run, "losses.csv")).read().split("\n")[1:] if line]
    return [row[:7] for row in rows]  # everything but images/s and wall time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dcgan", default="build/examples/dcgan/dcgan")
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="seeds the kill times")
    parser.add_argument("--work", help="folder for the runs (default: a temporary one, removed)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="tape-crash-")
    os.makedirs(work, exist_ok=True)
    reference, run = os.path.join(work, "reference"), os.path.join(work, "killed")
    for folder in (reference, run):
        shutil.rmtree(folder, ignore_errors=True)

    started = time.monotonic()
    subprocess.run(command(args, reference, False), check=True, stdout=subprocess.DEVNULL)
    duration = time.monotonic() - started
    print("reference run: %.1f s" % duration)

    failures, kills, resumes, unverified, leftovers = [], 0, 0, 0, 0
    while kills < args.kills:
        resume = bool(checkpoints(run))
        expected = checkpoints(run)[-1] if resume else None
        log = open(os.path.join(work, "train.log"), "w+")
        process = subprocess.Popen(command(args, run, resume), stdout=log, stderr=subprocess.STDOUT)
        during_write = kills % 2 == 1
        if during_write:
            wait_for_temporary(run, process, rng.uniform(0.05, duration))
        else:
            time.sleep(rng.uniform(0.05, duration))
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait()
        log.seek(0)
        output = log.read()
        log.close()
        if resume:
            resumes += 1
            match = re.search(r"Resumed from (\S+) at step (\d+)", output)
            if not match and finished:
                failures.append("resume %d printed no 'Resumed from' line:\n%s" % (resumes, output[-2000:]))
            elif not match:
                unverified += 1  # killed while starting, before it said where it resumed from
            elif os.path.basename(match.group(1)) != expected:
                failures.append("resume %d started from %s, the newest checkpoint was %s"
                                % (resumes, match.group(1), expected))
        if finished:
            if process.returncode != 0:
                failures.append("a run ended with status %d:\n%s" % (process.returncode, output[-2000:]))
            print("the run finished before kill %d; starting over" % (kills + 1))
            shutil.rmtree(run)
            continue
        kills += 1
        problems, notes = check_run_folder(run)
        leftovers += len(notes)
        failures += ["after kill %d: %s" % (kills, p) for p in problems]
        print("kill %2d (%s) after %s: %d files checked, %s" % (
            kills, "during a write" if during_write else "at a random moment", (checkpoints(run)[-1:] or ["(none)"])[0], sum(len(f) for _, _, f in os.walk(run)),
            "; ".join(notes) if notes else "nothing cut"))
    result = subprocess.run(command(args, run, bool(checkpoints(run))), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        failures.append("the final resume failed:\n" + result.stdout[-2000:])
    final_reference = os.path.join(reference, "checkpoints", checkpoints(reference)[-1])
    final = os.path.join(run, "checkpoints", (checkpoints(run) or ["none"])[-1])
    if not os.path.exists(final) or open(final, "rb").read() != open(final_reference, "rb").read():
        failures.append("the final checkpoint %s differs from the uninterrupted run's %s" % (final, final_reference))
    if losses(run) != losses(reference):
        failures.append("losses.csv differs from the uninterrupted run's")
    problems, _ = check_run_folder(run)
    failures += ["at the end: " + p for p in problems]

    print("%d kills, %d resumes (%d killed while starting, before saying where from; the others started from the "
          "newest checkpoint), %d cut appends or leftover temporaries seen (all repaired or removed on resume)"
          % (kills, resumes, unverified, leftovers))
    if resumes - unverified < resumes // 2:
        failures.append("only %d of %d resumes said where they started" % (resumes - unverified, resumes))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("final checkpoint identical to the uninterrupted run's (%s); losses.csv identical step for step"
          % os.path.basename(final))
    if not args.work:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
