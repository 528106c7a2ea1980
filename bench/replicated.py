"""Replicated training on a DaskCluster (loopback): W3 and W4 on 1 vs 2 workers (+1 ps), async and
sync, with and without fp16 transfers, against the same program in one process.

Runs only when invoked (not part of the tests)::

    .venv/bin/python bench/replicated.py                       # W3 and W4, short runs
    .venv/bin/python bench/replicated.py --workloads w3 --steps 300 --json /tmp/rep.json

For each workload the model is built once, as a notebook user would (placeholders, variables,
loss, ``minimize``), and trained with ``tfnb.distribute.train`` on ``DaskCluster(ps=1,
worker=W)`` for W = 1 and 2 (each task a single-threaded Dask worker process on 127.0.0.1):

* **steps/s** are global steps per second over the run (from the first replica joining to the
  last step), **samples/s** the examples they consumed (async: one batch per global step; sync:
  one batch per replica per step), **speed-up** the samples/s against the same mode on one
  worker;
* **bytes/step** are the tensor bytes moved between tasks by one global step, from a traced
  step's ``_Recv`` records (float32 tensors count 2 bytes per value with ``transfer_fp16``: they
  travel as float16). An async global step is one replica's step (pull the parameters, push the
  gradients); a sync step pulls the parameters to every tower and pushes every tower's
  gradients to the ps.

Every figure comes with the load average of the machine (``os.getloadavg``) before and after
its run: this machine has 2 cores shared with other work, so the numbers are noisy and short.
Why 2 workers cannot be twice as fast here: each worker process and the ps run on the same 2
cores (with the chief, the Dask scheduler and everything else), and a W3/W4 step is BLAS- and
NumPy-bound -- one step already uses a core; two workers can at best share the two cores, and
every global step also pays the loopback round trips and the ps's update.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Run as a script, this folder heads sys.path; keep it from hiding packages, import from the root.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _load():
    return "%.2f" % os.getloadavg()[0]


def w3_model(tf, n_rows):
    """W3: MLP 784-512-512-10, batch 128, softmax cross-entropy, SGD 0.1."""
    from bench.workloads import w3_mlp
    from bench.workloads.common import init_params
    sizes = w3_mlp.SIZES
    rng = np.random.default_rng(1)
    X = rng.random((n_rows, sizes[0]), dtype=np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], n_rows)]
    x = tf.placeholder(tf.float32, [None, sizes[0]], name="x")
    y = tf.placeholder(tf.float32, [None, sizes[-1]], name="y")
    h = x
    for i, (w0, b0) in enumerate(init_params(sizes)):
        if i:
            h = tf.nn.relu(h)
        h = tf.matmul(h, tf.Variable(w0)) + tf.Variable(b0)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
    train = tf.train.GradientDescentOptimizer(w3_mlp.LR).minimize(loss)
    return train, loss, {x: X, y: Y}, w3_mlp.BATCH


def w4_model(tf, n_rows):
    """W4: the Deep MNIST CNN (conv5x5x32, pool, conv5x5x64, pool, fc1024, fc10), batch 50, Adam."""
    from bench.workloads import w4_cnn
    from bench.workloads.cnn import init_cnn
    spec = w4_cnn.SPEC
    rng = np.random.default_rng(1)
    X = rng.random((n_rows,) + spec["input"], dtype=np.float32) * np.float32(0.1)
    Y = np.eye(spec["fc"][-1], dtype=np.float32)[rng.integers(0, spec["fc"][-1], n_rows)]
    x = tf.placeholder(tf.float32, [None] + list(spec["input"]), name="x")
    y = tf.placeholder(tf.float32, [None, spec["fc"][-1]], name="y")
    convs, fcs = init_cnn(spec)
    h = x
    for w0, b0 in convs:
        h = tf.nn.relu(tf.nn.conv2d(h, tf.Variable(w0), strides=[1, 1, 1, 1], padding="SAME")
                       + tf.Variable(b0))
        h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    h = tf.reshape(h, [-1, spec["fc"][0]])
    for i, (w0, b0) in enumerate(fcs):
        if i:
            h = tf.nn.relu(h)
        h = tf.matmul(h, tf.Variable(w0)) + tf.Variable(b0)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
    train = tf.train.AdamOptimizer(spec["lr"]).minimize(loss)
    return train, loss, {x: X, y: Y}, spec["batch"]


WORKLOADS = {"w3": (w3_model, 2048, 200), "w4": (w4_model, 400, 16)}


def transfer_bytes(run_metadata, fp16):
    """Bytes of the tensors received by the tasks in one traced step."""
    total = 0
    for dev in run_metadata.step_stats.dev_stats:
        for node in dev.node_stats:
            if node.timeline_label.startswith("_Recv"):
                for o in node.output:
                    d = o.tensor_description
                    total += d.requested_bytes // 2 if fp16 and d.dtype == "float32" else \
                        d.requested_bytes
    return total


def one_process(tf, build, n_rows, steps):
    """Steps/s of the plain program in one process (no cluster)."""
    with tf.Graph().as_default():
        train, loss, feeds, batch = build(tf, n_rows)
        (x, X), (y, Y) = feeds.items()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            load0 = _load()
            for k in range(3):
                sess.run([train, loss], {x: X[:batch], y: Y[:batch]})
            t0 = time.perf_counter()
            for k in range(steps):
                rows = slice((k * batch) % (n_rows - batch), (k * batch) % (n_rows - batch) + batch)
                sess.run([train, loss], {x: X[rows], y: Y[rows]})
            dt = time.perf_counter() - t0
    return {"steps_per_sec": steps / dt, "samples_per_sec": steps * batch / dt,
            "step_ms": 1e3 * dt / steps, "load": [load0, _load()]}


def async_bytes(tf, cluster, build, n_rows, fp16):
    """Bytes between tasks of one async replica step, from a traced step of replica 0's graph."""
    from tfnb.distribute import training
    with tf.Graph().as_default():
        train, loss, feeds, batch = build(tf, n_rows)
        data, job = training.make_job(train, loss, cluster.spec, mode="async", batch_size=batch,
                                      feeds=feeds, replicas=[0], transfer_fp16=fp16)
    arrays = {t.name: a[:batch * 2] for t, a in feeds.items()}
    job.update(shard_sizes={"0": batch * 2}, target_step=10 ** 9, ready_timeout=30.0,
               recovery_timeout=30.0)
    for f in job["feeds"]:
        f["shape"] = list(arrays[f["name"]].shape[1:])
    config = cluster.session_config(transfer_fp16=fp16)
    training.load_shard(job, 0, arrays, cluster.target("worker", 0), config)
    g, h = training.build_replica_graph(job, data, [0])
    with g.as_default(), tf.Session(cluster.target("worker", 0), config=config) as sess:
        sess.run([v.initializer for v in h.variables] + [h.step_var.initializer])
        sess.run([h.global_step, h.losses[0]])
        md = tf.RunMetadata()
        sess.run([h.global_step, h.losses[0]],
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
    tf.Session.reset(cluster.target("worker", 0), [training.DATA_CONTAINER], config=config)
    return transfer_bytes(md, fp16)


def replicated(tf, cluster, build, n_rows, steps, mode, fp16):
    from tfnb.distribute import train
    with tf.Graph().as_default():
        train_op, loss, feeds, batch = build(tf, n_rows)
        load0 = _load()
        r = train(train_op, loss=loss, feeds=feeds, cluster=cluster, mode=mode, steps=steps,
                  batch_size=batch, monitor=False, transfer_fp16=fp16, trace=(mode == "sync"),
                  timeout=60.0)
    out = {"steps_per_sec": r.steps_per_sec, "samples_per_sec": r.samples_per_sec,
           "global_steps": r.steps, "elapsed": r.elapsed, "final_loss": r.final_loss(),
           "load": [load0, _load()]}
    if r.run_metadata is not None:
        out["bytes_per_step"] = transfer_bytes(r.run_metadata, fp16)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default="w3,w4")
    p.add_argument("--steps", type=int, default=None, help="global steps per run "
                   "(default: 200 for W3, 16 for W4)")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)

    import tfnb as tf
    from tfnb.distribute import DaskCluster

    names = args.workloads.split(",")
    results = {"machine": {"cpus": os.cpu_count(), "load_at_start": _load()}}
    for name in names:
        build, n_rows, default_steps = WORKLOADS[name]
        steps = args.steps or default_steps
        results[name] = {"one process": one_process(tf, build, n_rows, steps)}
    for n_workers in [int(w) for w in args.workers.split(",")]:
        t0 = time.perf_counter()
        with DaskCluster(ps=1, worker=n_workers) as cluster:
            print("DaskCluster(ps=1, worker=%d) up in %.1f s (load %s)"
                  % (n_workers, time.perf_counter() - t0, _load()), flush=True)
            for name in names:
                build, n_rows, default_steps = WORKLOADS[name]
                steps = args.steps or default_steps
                for fp16 in (False, True):
                    tag = "fp16" if fp16 else "fp32"
                    abytes = async_bytes(tf, cluster, build, n_rows, fp16)
                    for mode in ("async", "sync"):
                        r = replicated(tf, cluster, build, n_rows, steps, mode, fp16)
                        if mode == "async":
                            r["bytes_per_step"] = abytes
                        results[name]["%d worker %s %s" % (n_workers, mode, tag)] = r
                        print("  %s %d worker(s) %-5s %s: %.1f steps/s, %.0f samples/s, "
                              "%s bytes/step (load %s -> %s)"
                              % (name, n_workers, mode, tag, r["steps_per_sec"],
                                 r["samples_per_sec"], "{:,}".format(r["bytes_per_step"]),
                                 r["load"][0], r["load"][1]), flush=True)
    print()
    for name in names:
        rows = results[name]
        one = rows["one process"]
        print("%s (one process: %.1f steps/s = %.0f samples/s, %.1f ms/step; load %s -> %s)"
              % (name.upper(), one["steps_per_sec"], one["samples_per_sec"], one["step_ms"],
                 *one["load"]))
        print("  %-22s %10s %12s %9s %14s %14s" % ("", "steps/s", "samples/s", "speed-up",
                                                    "bytes/step", "load before/after"))
        for key, r in rows.items():
            if key == "one process":
                continue
            n, _, mode, tag = key.split(" ")
            base = rows.get("1 worker %s %s" % (mode, tag))
            speed = r["samples_per_sec"] / base["samples_per_sec"] if base else float("nan")
            print("  %-22s %10.1f %12.0f %8.2fx %14s %9s/%s" % (
                key, r["steps_per_sec"], r["samples_per_sec"], speed,
                "{:,}".format(r["bytes_per_step"]), r["load"][0], r["load"][1]))
    results["machine"]["load_at_end"] = _load()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
