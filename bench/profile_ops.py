"""Per-op profile of a workload's training step (W4-W7) with tfnb.profiler.

    python bench/profile_ops.py W4 [--steps 5]

Builds the benchmark's own graph (bench/workloads/cnn.py, w6_ptb.py, w7_word2vec.py), traces ``--steps`` training steps with
FULL_TRACE, drops the first two (warm-up: plan compilation, first-touch allocations) and prints
time by op type: where a step's time goes, to compare with the GEMM ceiling of ../shared/BENCHMARKS.md.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfnb as tf  # noqa: E402
import tfnb.profiler as profiler  # noqa: E402
from workloads import cnn, w4_cnn, w5_cifar, w6_ptb, w7_word2vec  # noqa: E402


def traced_steps(module, steps, *args):
    """RunMetadata of ``steps`` traced training steps of the workload ``module`` (its
    ``build_and_run(tf, *args, steps, warmup)``, with its ``session`` and ``timed`` patched)."""
    runs = []
    make_session = module.session

    class TracingSession:
        def __init__(self, tf_module):
            self.inner = make_session(tf_module)

        def __enter__(self):
            sess = self.inner.__enter__()
            run = sess.run

            def traced(fetches, feed_dict=None, **kwargs):
                if feed_dict is None:  # the initializer
                    return run(fetches, feed_dict, **kwargs)
                md = tf.RunMetadata()
                out = run(fetches, feed_dict, run_metadata=md,
                          options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))
                runs.append(md)
                return out
            sess.run = traced
            return sess

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    def run_steps(step, n, warmup):
        for i in range(n):
            step(i)

    saved = module.session, module.timed
    module.session, module.timed = TracingSession, run_steps
    try:
        module.build_and_run(tf, *args, steps, 0)
    finally:
        module.session, module.timed = saved
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=["W4", "W5", "W6", "W7"])
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    steps = max(args.steps, 3)
    if args.workload in ("W6", "W7"):
        runs = traced_steps(w6_ptb if args.workload == "W6" else w7_word2vec, steps)
    else:
        runs = traced_steps(cnn, steps, (w4_cnn if args.workload == "W4" else w5_cifar).SPEC)
    print(profiler.profile(runs[2:]).table())


if __name__ == "__main__":
    main()
