"""Distributed runtime: what a remote step costs on a DaskCluster (loopback), against one process.

Runs only when invoked (not part of the tests)::

    .venv/bin/python bench/distributed.py                 # overhead + W3, 200 timed steps each
    .venv/bin/python bench/distributed.py --steps 500 --tls --json /tmp/dist.json

Two parts, each on a ``DaskCluster(ps=1, worker=1)`` (a LocalCluster of two single-thread worker
processes on 127.0.0.1), with the session's master in this process:

1. **Per-step overhead**: a scalar variable on ``/job:ps/task:0``; fetch its value (one task
   takes part: one request/answer) and its value times two computed on the worker task (two
   tasks and one Send/Recv between them), against the same fetch in a local session.
2. **W3** (MLP 784-512-512-10, batch 128, SGD; ``bench/workloads/w3_mlp.py``) with its variables
   on the ps task and the compute on the worker task (``replica_device_setter``), with and
   without ``ConfigProto(transfer_fp16=True)``, against the same program in one process. The
   bytes column is the tensor payload sent between the tasks in one step, from a traced step's
   ``_Recv`` records (float32 tensors count 2 bytes per value under fp16: they travel as
   float16); the master also sends the feeds (x and y) to the worker task each step.

Times are medians (min-max) over the timed steps after the warm-up steps.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Run as a script, this file's folder heads sys.path, and this file's name would hide Dask's
# `distributed` package: drop the folder, import from the repository root instead.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _timed(fn, steps, warmup):
    times = []
    out = None
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        out = fn(i)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    return {"median": times[len(times) // 2], "min": times[0], "max": times[-1],
            "steps": steps, "last": out}


def overhead(tf, cluster, config, steps, warmup):
    """Median seconds of a trivial fetch: local, through the ps task, and ps -> worker."""
    out = {}
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        r = tf.identity(v)
        with tf.Session() as sess:
            sess.run(v.initializer)
            out["local fetch"] = _timed(lambda i: sess.run(r), steps, warmup)
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(1.0, name="v")
            r = tf.identity(v)
        with tf.device("/job:worker/task:0"):
            r2 = r * 2.0
        with tf.Session(cluster.target("worker", 0), config=config) as sess:
            sess.run(v.initializer)
            out["remote fetch from the ps task"] = _timed(lambda i: sess.run(r), steps, warmup)
            out["remote ps -> worker (Send/Recv)"] = _timed(lambda i: sess.run(r2), steps,
                                                            warmup)
    return out


def _w3_graph(tf, device_fn):
    from bench.workloads import common, w3_mlp
    sizes = w3_mlp.SIZES
    with tf.device(device_fn):
        x = tf.placeholder(tf.float32, [None, sizes[0]])
        y = tf.placeholder(tf.float32, [None, sizes[-1]])
        h = x
        for i, (w0, b0) in enumerate(common.init_params(sizes)):
            if i:
                h = tf.nn.relu(h)
            h = tf.matmul(h, tf.Variable(w0)) + tf.Variable(b0)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
        train = tf.train.GradientDescentOptimizer(w3_mlp.LR).minimize(loss)
    feeds = [{x: xb, y: yb} for xb, yb, _ in common.make_batches(w3_mlp.BATCH, sizes[0],
                                                                 sizes[-1])]
    return loss, train, feeds


def w3(tf, cluster, security_config, steps, warmup):
    from bench.replicated import transfer_bytes
    out = {}
    with tf.Graph().as_default():
        loss, train, feeds = _w3_graph(tf, None)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            r = _timed(lambda i: sess.run([train, loss], feeds[i % len(feeds)])[1], steps, warmup)
            r["bytes"] = 0
            out["one process"] = r
    feed_bytes = sum(v.nbytes for v in feeds[0].values())
    for fp16 in (False, True):
        with tf.Graph().as_default():
            setter = tf.train.replica_device_setter(cluster=cluster.spec,
                                                    worker_device="/job:worker/task:0")
            loss, train, feeds = _w3_graph(tf, setter)
            config = security_config(transfer_fp16=fp16)
            with tf.Session(cluster.target("worker", 0), config=config) as sess:
                sess.run(tf.global_variables_initializer())
                r = _timed(lambda i: sess.run([train, loss], feeds[i % len(feeds)])[1], steps,
                           warmup)
                md = tf.RunMetadata()
                sess.run([train, loss], feeds[0],
                         options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                         run_metadata=md)
                r["bytes"] = transfer_bytes(md, fp16)
                r["feed_bytes"] = feed_bytes
                out["ps + worker, %s transfers" % ("fp16" if fp16 else "fp32")] = r
    return out


def _ms(r):
    return "%8.3f ms (%.3f-%.3f)" % (r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--tls", action="store_true", help="TLS between everything "
                   "(distributed.Security.temporary())")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)

    import distributed
    import tfnb as tf
    from tfnb.distribute import DaskCluster

    security = distributed.Security.temporary() if args.tls else None
    t0 = time.perf_counter()
    with DaskCluster(ps=1, worker=1, security=security) as cluster:
        print("DaskCluster(ps=1, worker=1%s) up in %.2f s; %s" % (
            ", TLS" if args.tls else "", time.perf_counter() - t0,
            ", ".join("/job:%s/task:0 at %s" % (j, cluster.spec.task_address(j, 0))
                      for j in ("ps", "worker"))))
        results = {"overhead": overhead(tf, cluster, cluster.session_config(), args.steps,
                                        args.warmup)}
        print("\nPer-step overhead (median, min-max over %d steps)" % args.steps)
        for name, r in results["overhead"].items():
            print("  %-34s %s" % (name, _ms(r)))
        results["w3"] = w3(tf, cluster, cluster.session_config, args.steps, args.warmup)
        base = results["w3"]["one process"]["median"]
        print("\nW3 MLP 784-512-512-10, batch 128, SGD (median, min-max over %d steps)"
              % args.steps)
        print("  %-28s %-30s %8s %16s %12s" % ("", "time per step", "vs one", "bytes between",
                                               "final loss"))
        print("  %-28s %-30s %8s %16s %12s" % ("", "", "process", "tasks per step", ""))
        for name, r in results["w3"].items():
            print("  %-28s %-30s %7.2fx %16s %12.6f" % (
                name, _ms(r), r["median"] / base, "{:,}".format(r["bytes"]) if r["bytes"] else "-",
                r["last"]))
        feed = results["w3"]["ps + worker, fp32 transfers"]["feed_bytes"]
        print("  (plus %s bytes of feeds from this process to the worker task per step)"
              % "{:,}".format(feed))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
