"""Benchmark runner: each (workload, framework) runs in its own subprocess so peak RSS is per framework.

    python bench/run.py [W1 W2 W3 ...] [--frameworks tfnb,tf,torch,numpy] [--threads N] [--steps N]
                        [--warmup N] [--json PATH] [--busy N] [--rounds R]

Every framework is held to the same core count (``--threads``, default: the cores this process may
use): the subprocess runs on that many cores (CPU affinity), with OpenMP/OpenBLAS/MKL limited by
environment variables set before anything is imported (threadpoolctl checks what the BLAS really
uses), PyTorch's intra- and inter-op threads set with ``torch.set_num_threads`` /
``set_num_interop_threads``, and TF1 sessions (TensorFlow and tfnb) made with
``ConfigProto(intra_op_parallelism_threads=N, inter_op_parallelism_threads=N)``.

``--busy N`` runs N competing busy processes (a Python spin loop each, bounded in time and
killed by pid when the run ends) beside every measurement: the "under load" figures of
../shared/BENCHMARKS.md. The report quotes the load average before and after the run.

``--rounds R`` runs each (workload, framework) R times, the frameworks taking turns (order reversed
every other round), and pools the timed steps of all rounds: on a host whose speed drifts over
seconds to minutes, every framework then samples the same stretches of it instead of whichever
stretch its one turn fell in.
"""
import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path[:0] = [ROOT, BENCH]
# id -> (module in bench/workloads, keyword arguments)
WORKLOADS = {
    "W1": ("w1_overhead", {}),
    "W1v": ("w1_overhead", {"variable": True}),
    "W2": ("w2_softmax", {}),
    "W3": ("w3_mlp", {}),
    "W4": ("w4_cnn", {}),
    "W5": ("w5_cifar", {}),
    "W6": ("w6_ptb", {}),
    "W7": ("w7_word2vec", {}),
    "We": ("we_eager", {}),                          # eager op cost (create + evaluate one op)
    "RNNd": ("w_dynamic_rnn", {}),                   # LSTM via tf.nn.dynamic_rnn (while_loop)
    "RNNs": ("w_dynamic_rnn", {"static": True}),     # the same LSTM unrolled with static_rnn
}
GROUPS = {"W1": ["W1", "W1v"], "RNN": ["RNNd", "RNNs"]}   # a group id runs all its variants
FRAMEWORKS = ["tfnb", "tf", "torch", "numpy"]
MARK = "@@RESULT "
#: Thread-count variables of the BLAS / OpenMP runtimes; read when the library loads.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
ENTRY = {"torch": "torch_run", "numpy": "numpy_run"}
PEER_NAME = {"torch": "PyTorch", "numpy": "NumPy"}


def load_tf(framework):
    """The TF1-style module for a graph framework; raises ImportError when it is not usable."""
    if framework == "tfnb":
        import tfnb as tf
        if not hasattr(tf, "Session"):   # e.g. an unfinished package imported as a namespace package
            raise ImportError("tfnb has no Session yet")
        return tf
    import tensorflow.compat.v1 as tf
    tf.disable_eager_execution()
    return tf


def available_cores():
    """The cores this process may run on (its affinity mask), else the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pin_cores(n):
    """Runs this process on ``n`` of the cores it may use (the lowest-numbered ones). Called
    before NumPy/torch/TF are imported: threads inherit the mask of the thread that starts them."""
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        if n < len(allowed):
            os.sched_setaffinity(0, allowed[:n])


def blas_threads(n):
    """Limits the loaded BLAS/OpenMP pools to ``n`` threads (threadpoolctl, when installed; the
    environment variables already did it at load time) and returns the thread counts in use."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    threadpoolctl.threadpool_limits(n)
    return sorted({p["num_threads"] for p in threadpoolctl.threadpool_info()})


def child(wid, framework, steps, warmup, threads):
    """Run one workload on one framework in this process; print a result line for the parent."""
    name, kwargs = WORKLOADS[wid]
    mod = importlib.import_module("workloads." + name)
    res = {"workload": wid, "framework": framework, "unit": mod.UNIT, "threads": threads}
    run = None
    try:
        if framework in ("tfnb", "tf"):
            tf = load_tf(framework)
            run = lambda **kw: mod.build_and_run(tf, **kw)
        elif framework == "torch":
            import torch  # (import here so a missing torch is a skip)
            torch.set_num_threads(threads)
            torch.set_num_interop_threads(threads)
    except Exception as e:  # missing, or a package that fails while importing
        res["skipped"] = f"not importable: {type(e).__name__}: {e}"
    if framework in ENTRY and "skipped" not in res:
        run = getattr(mod, ENTRY[framework], None)
        if run is None:
            res["skipped"] = f"no {PEER_NAME[framework]} implementation of {wid}"
    if run is not None:
        res["blas_threads"] = blas_threads(threads)
        try:
            out = run(steps=steps or mod.STEPS, warmup=mod.WARMUP if warmup is None else warmup, **kwargs)
            scale = 1e6 if mod.UNIT == "us" else 1e3
            times = [t * scale for t in out["times"]]
            res.update(median=statistics.median(times), min=min(times), max=max(times), steps=len(times),
                       final_loss=out["losses"][-1], times=times)
        except Exception as e:  # report, never abort the whole run
            res["error"] = f"{type(e).__name__}: {e}"
    res["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(MARK + json.dumps(res), flush=True)


def spawn(wid, framework, steps, warmup, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", wid, framework, "--threads",
           str(threads)]
    if steps:
        cmd += ["--steps", str(steps)]
    if warmup is not None:
        cmd += ["--warmup", str(warmup)]
    # Thread limits must be in the environment before NumPy/torch/TF load their runtimes.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **{v: str(threads) for v in THREAD_VARS})
    from workloads.common import THREADS_ENV
    env[THREADS_ENV] = str(threads)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
    return {"workload": wid, "framework": framework, "error": f"exit {p.returncode}: {tail}"}


#: A competing busy process: spins until killed, or for at most this many seconds.
BUSY_MAX_S = 4 * 3600


def start_busy(n):
    """``n`` busy processes competing for the cores (the caller kills them: ``stop_busy``)."""
    code = "import time\nend = time.monotonic() + %d\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code % BUSY_MAX_S]) for _ in range(n)]


def stop_busy(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait(timeout=30)


def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "unknown"


def fmt(v, spec=".4g"):
    return "–" if v is None else format(v, spec)


def header(threads, results):
    """What every framework was held to, and the BLAS thread counts the subprocesses saw."""
    seen = sorted({n for r in results for n in (r.get("blas_threads") or [])})
    blas = ("BLAS/OpenMP pools in use: %s threads" % "/".join(map(str, seen)) if seen
            else "BLAS/OpenMP pools: limited by environment variables (threadpoolctl not installed)")
    return (f"threads: {threads} per framework, on {threads} of {available_cores()} cores "
            f"(CPU affinity; {', '.join(THREAD_VARS[:3])}={threads}; torch.set_num_threads / "
            f"set_num_interop_threads({threads}); TF1 ConfigProto intra/inter_op_parallelism_threads"
            f"={threads}); {blas}")


def table(results):
    head = ["workload", "framework", "median", "min–max", "unit", "RSS MB", "×tfnb", "×numpy", "final loss"]
    by = {(r["workload"], r["framework"]): r for r in results}
    rows, notes = [head], {}
    for r in results:
        if "median" not in r:   # skipped or failed: the note runs on after the first two columns
            notes[len(rows)] = r.get("skipped") or "ERROR " + r.get("error", "?")
            rows.append([r["workload"], r["framework"]])
            continue
        ratios = []
        for ref in ("tfnb", "numpy"):
            base = by.get((r["workload"], ref), {}).get("median")
            ratios.append(f"{r['median'] / base:.2f}" if base else "–")
        unit = "µs/run" if r["unit"] == "us" else "ms/step"
        rows.append([r["workload"], r["framework"], fmt(r["median"]), f"{fmt(r['min'])}–{fmt(r['max'])}", unit,
                     fmt(r["rss_mb"], ".0f"), *ratios, fmt(r["final_loss"], ".6g")])
    width = [max(len(row[i]) for row in rows if len(row) > i) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, width)) for row in rows]
    return "\n".join(line + "  " + notes[i] if i in notes else line.rstrip() for i, line in enumerate(lines))


def pooled(rounds):
    """One result from the results of several rounds of a (workload, framework): the median, min and
    max of all their timed steps, the largest peak RSS, the last round's final loss."""
    ok = [r for r in rounds if "times" in r]
    if len(ok) < len(rounds):
        return next(r for r in rounds if "times" not in r)  # a failure or skip is reported as it is
    times = [t for r in ok for t in r["times"]]
    res = dict(ok[-1], median=statistics.median(times), min=min(times), max=max(times),
               steps=len(times), rss_mb=max(r["rss_mb"] for r in ok), times=times,
               round_medians=[r["median"] for r in ok])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", help=f"ids among {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--steps", type=int, help="measured steps (default: per workload)")
    ap.add_argument("--warmup", type=int, help="untimed warm-up steps (default: per workload)")
    ap.add_argument("--threads", type=int, default=available_cores(),
                    help="cores and threads for every framework (default: the %(default)s cores "
                         "this process may use)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="competing busy processes beside every measurement (default 0)")
    ap.add_argument("--rounds", type=int, default=1, metavar="R",
                    help="run every (workload, framework) R times, frameworks taking turns, and pool "
                         "the steps (default 1)")
    ap.add_argument("--child", nargs=2, metavar=("WORKLOAD", "FRAMEWORK"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads < 1:
        ap.error("--threads must be at least 1")
    if a.busy < 0:
        ap.error("--busy must be at least 0")
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if a.child:
        pin_cores(a.threads)
        return child(*a.child, a.steps, a.warmup, a.threads)

    wids = []
    for w in a.workloads or list(WORKLOADS):
        for wid in GROUPS.get(w, [w]):
            if wid not in WORKLOADS:
                ap.error(f"unknown workload {wid!r}; known: {', '.join(WORKLOADS)}")
            if wid not in wids:
                wids.append(wid)
    fws = [f for f in a.frameworks.split(",") if f]
    for f in fws:
        if f not in FRAMEWORKS:
            ap.error(f"unknown framework {f!r}; known: {', '.join(FRAMEWORKS)}")

    results = []
    load_before = load_average()
    busy = start_busy(a.busy)
    try:
        for wid in wids:
            runs = {f: [] for f in fws}
            for r in range(a.rounds):
                for f in (fws if r % 2 == 0 else fws[::-1]):
                    turn = f" (round {r + 1} of {a.rounds})" if a.rounds > 1 else ""
                    print(f"running {wid} on {f}{turn} ...", file=sys.stderr, flush=True)
                    runs[f].append(spawn(wid, f, a.steps, a.warmup, a.threads))
            results.extend(pooled(runs[f]) for f in fws)
    finally:
        stop_busy(busy)
    print(header(a.threads, results))
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {load_average()}; "
          f"competing busy processes: {a.busy}" + (f"; rounds: {a.rounds} (steps pooled)" if a.rounds > 1 else ""))
    print(table(results))
    for r in results:
        if len(r.get("round_medians", ())) > 1:
            print(f"{r['workload']} {r['framework']} medians per round: "
                  + " / ".join(fmt(m) for m in r["round_medians"]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
