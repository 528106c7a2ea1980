"""A scaling model for replicated training: predicted speed-up for 1-100 replicas, sync and async,
from per-step compute time, parameter bytes and network bandwidth/latency -- checked against the
seed's figures and against what bench/replicated.py measured on this machine.

    .venv/bin/python bench/scaling_model.py                          # presets, table + plot
    .venv/bin/python bench/scaling_model.py --measured /tmp/rep.json --plot /tmp/scaling.png

The model (parameter server, N replicas of batch b, S ps tasks, each machine one NIC of
bandwidth B and latency L; parameters sharded evenly over the ps tasks):

* one replica step computes for ``t_c`` and moves its parameters in and its gradients out:
  ``t_net = 2 P / B + 2 L`` through its own NIC (P = parameter bytes; P/2 with fp16 transfers);
* every global step also goes through the ps: ``2 P / (S B)`` on the ps NICs (every replica's
  pull and push, spread over S tasks) and ``t_apply / S`` to apply the update;
* **async** (Downpour): replicas never wait for each other. Global steps/s =
  ``min(N / (t_c + t_net), 1 / (2 P / (S B) + t_apply / S))`` -- linear until the ps saturates.
  (Stale gradients cost statistical efficiency, which a steps/s model does not see.)
* **sync**: a step waits for the slowest of N replicas, ``t_c (1 + cv sqrt(2 ln N))`` for
  compute times with coefficient of variation ``cv`` (the expected maximum of N normal
  draws), then for the ps, which must take N gradients and send N copies of the parameters:
  ``max(t_net, 2 N P / (S B) + 2 L) + t_apply / S``. Samples/s = ``N b / step``.
* on a machine with C cores shared by N workers and the ps (this one: C = 2), compute
  slows by ``max(1, (N + 1) / C)`` when each replica's step keeps one core busy (W3/W4:
  BLAS/NumPy-bound steps).

Speed-up is samples/s against one replica of the same mode on the same cluster.
"""
import argparse
import json
import math
import os

# Presets: (title, t_c seconds, parameter bytes, ps tasks, bandwidth B/s, latency s, cv,
#           t_apply seconds). The network is a 10 Gb/s Ethernet with 100 us latency.
_GBE10 = 10e9 / 8
PRESETS = {
    # Inception-v3 (23.8M parameters, 95 MB fp32) on a K40-class GPU, batch 32 (~0.75 s/step);
    # the seed reports ~40x on 50 GPUs with synchronous replicas (and backup workers).
    "inception": ("Inception-v3 on GPUs (seed: ~40x on 50)", 0.75, 95e6, 16, _GBE10, 100e-6,
                  0.10, 0.02),
    # DistBelief-era dense models: large fully connected layers -- many bytes per flop. The
    # seed reports 10-40x from 50 replicas; the two presets bracket that range.
    "dense-compute": ("dense model, compute-heavy (seed: 10-40x at 50)", 0.50, 100e6, 8,
                      _GBE10, 100e-6, 0.10, 0.02),
    "dense-comm": ("dense model, communication-heavy (seed: 10-40x at 50)", 0.10, 200e6, 8,
                   _GBE10, 100e-6, 0.10, 0.04),
}
REPLICAS = [1, 2, 4, 8, 16, 32, 50, 64, 100]
SEED_POINTS = {"inception": (50, 40.0, 40.0), "dense-compute": (50, 10.0, 40.0),
               "dense-comm": (50, 10.0, 40.0)}


class Setup:
    """One cluster and model: what the formulas take (see the module docstring)."""

    def __init__(self, t_c, param_bytes, ps=1, bandwidth=_GBE10, latency=100e-6, cv=0.1,
                 t_apply=0.0, batch=1, cores=None, fp16=False):
        self.t_c, self.P = t_c, param_bytes / (2.0 if fp16 else 1.0)
        self.S, self.B, self.L, self.cv = ps, bandwidth, latency, cv
        self.t_apply, self.batch, self.cores = t_apply, batch, cores

    def compute(self, n):
        slow = max(1.0, (n + 1) / self.cores) if self.cores else 1.0
        return self.t_c * slow

    def t_net(self):
        return 2 * self.P / self.B + 2 * self.L

    def async_steps_per_sec(self, n):
        replicas = n / (self.compute(n) + self.t_net())
        ps = 1.0 / (2 * self.P / (self.S * self.B) + self.t_apply / self.S)
        return min(replicas, ps)

    def sync_step_time(self, n):
        straggle = 1.0 + self.cv * math.sqrt(2 * math.log(n)) if n > 1 else 1.0
        ps_net = 2 * n * self.P / (self.S * self.B) + 2 * self.L
        return self.compute(n) * straggle + max(self.t_net(), ps_net) + self.t_apply / self.S

    def samples_per_sec(self, mode, n):
        if mode == "async":
            return self.async_steps_per_sec(n) * self.batch
        return n * self.batch / self.sync_step_time(n)

    def speedup(self, mode, n):
        return self.samples_per_sec(mode, n) / self.samples_per_sec(mode, 1)


def measured_setups(path):
    """Setups for this machine from bench/replicated.py's JSON (loopback, 2 cores), and the
    measured speed-ups at 1-2 workers."""
    with open(path) as f:
        res = json.load(f)
    cores = res.get("machine", {}).get("cpus") or os.cpu_count()
    out = {}
    for name in ("w3", "w4"):
        rows = res.get(name)
        if not rows:
            continue
        one = rows["one process"]
        t_c = one["step_ms"] / 1e3
        batch = one["samples_per_sec"] / one["steps_per_sec"]
        param_bytes = rows.get("1 worker async fp32", {}).get("bytes_per_step", 0) / 2
        # Loopback: ~1 GB/s through distributed's comm for MB-sized frames, ~0.5 ms a call.
        setup = Setup(t_c, param_bytes, ps=1, bandwidth=1e9, latency=0.5e-3, cv=0.05,
                      t_apply=param_bytes * 3 / 2e9, batch=batch, cores=cores)
        measured = {}
        for mode in ("async", "sync"):
            one_w = rows.get("1 worker %s fp32" % mode)
            two_w = rows.get("2 worker %s fp32" % mode)
            if one_w and two_w:
                measured[mode] = two_w["samples_per_sec"] / one_w["samples_per_sec"]
        out[name] = (setup, measured, rows)
    return out


def table(title, setup, replicas=REPLICAS):
    lines = [title, "  %8s %14s %14s" % ("replicas", "async speed-up", "sync speed-up")]
    for n in replicas:
        lines.append("  %8d %13.1fx %13.1fx" % (n, setup.speedup("async", n),
                                                setup.speedup("sync", n)))
    return "\n".join(lines)


def plot(curves, path):
    """One panel: speed-up vs replicas (log x), a line per setup and mode, the seed's figures."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ns = list(range(1, 101))
    for i, (label, setup, seed, measured) in enumerate(curves):
        color = "C%d" % i
        for mode, style in (("async", "--"), ("sync", "-")):
            ax.plot(ns, [setup.speedup(mode, n) for n in ns], style, color=color,
                    label="%s, %s" % (label, mode))
        if seed is not None:
            n, lo, hi = seed
            ax.errorbar([n], [(lo + hi) / 2], yerr=[[(hi - lo) / 2]], fmt="o", color=color,
                        capsize=5)
        for mode, value in (measured or {}).items():
            ax.plot([2], [value], "s" if mode == "sync" else "^", color=color, markersize=8)
    ax.plot(ns, ns, ":", color="grey", label="linear")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("replicas")
    ax.set_ylabel("speed-up (samples/s vs 1 replica)")
    ax.set_title("Predicted speed-up (lines); seed figures (o, range); measured here at 2 "
                 "workers (^ async, s sync)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--measured", help="bench/replicated.py --json output, to calibrate and check")
    p.add_argument("--plot", default="scaling_model.png", help="where to write the plot")
    p.add_argument("--fp16", action="store_true", help="halve the bytes on the wire")
    args = p.parse_args(argv)
    curves = []
    for key, (title, t_c, P, S, B, L, cv, t_apply) in PRESETS.items():
        setup = Setup(t_c, P, S, B, L, cv, t_apply, fp16=args.fp16)
        print(table("%s: t_c %.2f s, %.0f MB, %d ps, %.1f GB/s, %.0f us" % (
            title, t_c, P / 1e6, S, B / 1e9, L * 1e6), setup))
        print()
        curves.append((key, setup, SEED_POINTS.get(key), None))
    if args.measured:
        for name, (setup, measured, rows) in measured_setups(args.measured).items():
            print(table("%s on this machine (loopback, %d cores): t_c %.1f ms, %.2f MB" % (
                name.upper(), setup.cores, setup.t_c * 1e3, setup.P / 1e6), setup,
                replicas=[1, 2]))
            for mode, value in measured.items():
                print("  measured %s at 2 workers: %.2fx (predicted %.2fx; load %s)" % (
                    mode, value, setup.speedup(mode, 2),
                    "/".join(rows["2 worker %s fp32" % mode]["load"])))
            same = Setup(setup.t_c, setup.P, 1, setup.B, setup.L, setup.cv, setup.t_apply,
                         setup.batch)  # the same model with a core per replica
            print("  with a core per replica it would be: async %.2fx, sync %.2fx at 2; "
                  "%.1fx / %.1fx at 50"
                  % (same.speedup("async", 2), same.speedup("sync", 2),
                     same.speedup("async", 50), same.speedup("sync", 50)))
            print()
            curves.append((name + " (loopback, %d cores)" % setup.cores, setup, None, measured))
    path = plot(curves, args.plot)
    print("plot: %s" % path if path else "matplotlib not installed: tables only")


if __name__ == "__main__":
    main()
