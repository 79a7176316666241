#!/usr/bin/python3
"""Compare tape's DCGAN iteration with its PyTorch twin, alternating the two in one run.

  bench/compare.py [--build build] [--rounds 3] [--archs tf-tutorial,keras-small]
                   [--batches 64,128,256] [--threads 1,2] [--step tf|torch]

For each configuration it runs bench_fma's FMA ceiling, tape's bench_dcgan and
bench/pytorch/dcgan_step.py alternately, --rounds times each, as separate processes, and prints
the medians: ms per iteration, the ratio tape/PyTorch, tape's GFLOP/s, the ceiling measured in
those rounds and tape's % of it (a shared machine's speed drifts over a run: each row is held to
the ceiling of its own minutes; the first line gives the ceiling at the start), and each
process's peak RSS (from wait4). Needs a build with -DTAPE_BUILD_BENCH=ON and Debian's
python3-torch with libopenblas0-openmp.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, env=None):
    """Runs cmd with its stdout captured through a pipe; returns (stdout, peak RSS MiB)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.execvpe(cmd[0], cmd, env or os.environ)
    os.close(w)
    chunks = []
    with os.fdopen(r) as f:
        chunks.append(f.read())
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"compare: {' '.join(cmd)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return "".join(chunks), usage.ru_maxrss / 1024.0


def fma_ceiling(build, threads):
    out, _ = timed([f"{build}/bench/bench_fma", f"--benchmark_filter=^fma_ceiling/{threads}/",
                    "--benchmark_format=json"])
    b = json.loads(out)["benchmarks"][0]
    return b["GFLOP/s"], b.get("label", "?")


def tape_run(build, arch, batch, threads):
    name = arch.replace("-", "_")
    out, rss = timed([f"{build}/bench/bench_dcgan", f"--benchmark_filter=^{name}/{batch}/{threads}/",
                      "--benchmark_format=json", "--benchmark_min_time=3"])
    b = json.loads(out)["benchmarks"][0]
    return b["real_time"], b["GFLOP/s"], rss


def torch_run(arch, batch, threads, step):
    env = dict(os.environ)
    out, rss = timed(["/usr/bin/python3", f"{HERE}/pytorch/dcgan_step.py", "--arch", arch, "--batch", str(batch),
                      "--threads", str(threads), "--step", step, "--iters", "8"], env)
    line = [l for l in out.splitlines() if l.startswith("RESULT ")][-1]
    res = json.loads(line[len("RESULT "):])
    return res["median_ms"], rss, res["blas"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--archs", default="tf-tutorial,keras-small")
    p.add_argument("--batches", default="64,128,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--step", choices=["tf", "torch"], default="tf")
    a = p.parse_args()

    threads_list = [int(t) for t in a.threads.split(",")]
    measured = {t: fma_ceiling(a.build, t) for t in threads_list}
    ceilings = {t: gflops for t, (gflops, _) in measured.items()}
    isa = measured[threads_list[0]][1]
    print(f"FMA ceiling at the start ({isa}, GFLOP/s): " + ", ".join(f"{t} thread(s) {c:.0f}" for t, c in ceilings.items()))
    header = (f"{'arch':12s} {'batch':>5s} {'thr':>3s} {'tape ms':>9s} {'torch ms':>9s} {'ratio':>6s} "
              f"{'GFLOP/s':>8s} {'ceiling':>7s} {'% ceil':>6s} {'tape RSS':>9s} {'torch RSS':>9s}")
    print(header)
    print("-" * len(header))
    blas = "?"
    for arch in a.archs.split(","):
        for batch in [int(b) for b in a.batches.split(",")]:
            for threads in threads_list:
                ours, theirs, ratios, gflops, rss_ours, rss_theirs, ceiling = [], [], [], [], [], [], []
                for _ in range(a.rounds):
                    ceiling.append(fma_ceiling(a.build, threads)[0])
                    ms, gf, rss = tape_run(a.build, arch, batch, threads)
                    tms, trss, blas = torch_run(arch, batch, threads, a.step)
                    ours.append(ms)
                    theirs.append(tms)
                    ratios.append(ms / tms)
                    gflops.append(gf)
                    rss_ours.append(rss)
                    rss_theirs.append(trss)
                med = statistics.median
                print(f"{arch:12s} {batch:5d} {threads:3d} {med(ours):9.1f} {med(theirs):9.1f} {med(ratios):6.2f} "
                      f"{med(gflops):8.1f} {med(ceiling):7.0f} {100 * med(gflops) / med(ceiling):6.1f} "
                      f"{med(rss_ours):8.0f}M {med(rss_theirs):8.0f}M", flush=True)
    print(f"PyTorch BLAS: {blas}; step: {a.step}; medians of {a.rounds} alternating rounds")


if __name__ == "__main__":
    main()
