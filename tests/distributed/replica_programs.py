"""TF1 launch programs for the replicated-training and fault tests, run as real processes.

    python replica_programs.py server SPEC_JSON JOB TASK
        one tf.train.Server (the task), serving until killed;
    python replica_programs.py slide SPEC_JSON TASK LOGDIR MAX_STEPS [SAVE_MODEL_SECS]
        the seed slide's worker program: its own Server, replica_device_setter, a Supervisor,
        prepare_or_wait_for_session, and sess.run([train_op, loss, global_step]) until the
        global step reaches MAX_STEPS; prints a JSON line when ready (with the global variables'
        values), one per 10 steps and a final one;
    python replica_programs.py train SPEC_JSON CKPT_DIR MAX_STEPS MODE
        a chief process calling tfnb.distribute.train on a cluster of running servers.

:class:`ProcCluster` starts such processes on 127.0.0.1, restarts one on its port (a task
coming back), and kills them all.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _model(tf, np):
    """A small regression model: loss falls quickly, and every step changes the weights."""
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    w = tf.Variable(tf.zeros([4, 1]), name="w")
    b = tf.Variable(tf.zeros([1]), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y), name="loss")
    return x, y, loss


def _data(np, n=256, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4).astype(np.float32)
    Y = (X.dot(np.array([[1.0], [-2.0], [0.5], [3.0]])) + 0.25).astype(np.float32)
    return X, Y


def serve(spec, job, task):
    import tfnb as tf
    server = tf.train.Server(tf.train.ClusterSpec(spec), job_name=job, task_index=task)
    print(json.dumps({"serving": server.target}), flush=True)
    server.join()


def slide(spec, task_index, logdir, max_steps, save_model_secs=600):
    """The seed slide's program, as written (plus a loss and data to feed)."""
    import numpy as np
    import tfnb as tf
    cluster = tf.train.ClusterSpec(spec)
    server = tf.train.Server(cluster, job_name="worker", task_index=task_index)
    X, Y = _data(np, seed=task_index)
    with tf.device(tf.train.replica_device_setter(
            worker_device="/job:worker/task:%d" % task_index, cluster=cluster)):
        x, y, loss = _model(tf, np)
        global_step = tf.Variable(0, name="global_step", trainable=False)
        train_op = tf.train.AdagradOptimizer(0.1).minimize(loss, global_step=global_step)
        saver = tf.train.Saver()
        summary_op = tf.summary.merge_all()
        init_op = tf.global_variables_initializer()
    sv = tf.train.Supervisor(is_chief=(task_index == 0), logdir=logdir, init_op=init_op,
                             summary_op=summary_op, saver=saver, global_step=global_step,
                             save_model_secs=save_model_secs, recovery_wait_secs=1)
    config = tf.ConfigProto(operation_timeout_in_ms=20000)
    sess = sv.prepare_or_wait_for_session(server.target, config=config)
    variables = tf.global_variables()  # what the chief restored (or a worker found) on the ps
    values = sess.run(variables)
    print(json.dumps({"task": task_index, "ready": True,
                      "global_step": int(sess.run(global_step)),
                      "variables": {v.op.name: np.asarray(a).tolist()
                                    for v, a in zip(variables, values)}}), flush=True)
    step, k = 0, 0
    first = None
    while not sv.should_stop() and step < max_steps:
        rows = np.arange(k * 16, k * 16 + 16) % len(X)
        _, l, step = sess.run([train_op, loss, global_step], {x: X[rows], y: Y[rows]})
        first = l if first is None else first
        k += 1
        if k % 10 == 0:
            print(json.dumps({"task": task_index, "local": k, "global_step": int(step),
                              "loss": float(l)}), flush=True)
    print(json.dumps({"task": task_index, "done": True, "local": k, "global_step": int(step),
                      "first_loss": float(first), "last_loss": float(l),
                      "placement": sorted({r["assigned"] for r in sess.placement()
                                           if r["type"] == "ResourceApplyAdagrad"})}),
          flush=True)
    sv.stop()
    server.stop()


def chief_train(spec, ckpt_dir, max_steps, mode):
    import numpy as np
    import tfnb as tf
    from tfnb.distribute import train
    X, Y = _data(np)
    x, y, loss = _model(tf, np)
    step = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=tf.train.ClusterSpec(spec),
              mode=mode, max_steps=max_steps, batch_size=8, monitor=False,
              checkpoint_dir=ckpt_dir, save_checkpoint_secs=0.3, timeout=5.0)
    print(json.dumps({"start": r.start_step, "global_step": r.global_step,
                      "checkpoint": r.checkpoint, "events": r.events}), flush=True)


class ProcCluster:
    """ps/worker tasks as ``tf.train.Server`` processes on fixed loopback ports."""

    def __init__(self, ps=1, worker=2, start=True, jobs=None):
        from cluster_helpers import free_ports
        jobs = dict(jobs or {"ps": ps, "worker": worker})
        ports = iter(free_ports(sum(jobs.values())))
        self.spec = {job: ["127.0.0.1:%d" % next(ports) for _ in range(n)]
                     for job, n in jobs.items()}
        self.procs = {}
        self.others = []
        if start:
            for job, addrs in self.spec.items():
                for i in range(len(addrs)):
                    self.start(job, i, wait=False)
            for key in self.procs:
                self.wait_serving(*key)

    def target(self, job="worker", task=0):
        return "grpc://" + self.spec[job][task]

    def start(self, job, task, wait=True):
        p = spawn("server", json.dumps(self.spec), job, str(task))
        self.procs[(job, task)] = p
        if wait:
            self.wait_serving(job, task)
        return p

    def wait_serving(self, job, task, timeout=60):
        p = self.procs[(job, task)]
        line = read_line(p, timeout)
        if not line or "serving" not in line:
            raise RuntimeError("task /job:%s/task:%d did not start: %r %s"
                               % (job, task, line, p.stderr.read() if p.poll() is not None
                                  else ""))

    def kill(self, job, task):
        p = self.procs[(job, task)]
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        for f in (p.stdout, p.stderr):
            f.close()

    def spawn(self, *args):
        p = spawn(*args)
        self.others.append(p)
        return p

    def stop(self):
        for p in list(self.procs.values()) + self.others:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()


def spawn(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + HERE)
    return subprocess.Popen([sys.executable, os.path.join(HERE, "replica_programs.py")] +
                            list(args), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_line(p, timeout):
    """The next stdout line of ``p`` within ``timeout`` seconds ('' if none)."""
    import select
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if r:
            return p.stdout.readline()
        if p.poll() is not None:
            return ""
    return ""


def read_json_lines(p, timeout, until=None):
    """JSON lines of ``p`` until one satisfies ``until`` (or the process ends / time is up)."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = read_line(p, deadline - time.monotonic())
        if not line:
            break
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        if until is not None and until(out[-1]):
            break
    return out


if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    if what == "server":
        serve(json.loads(args[0]), args[1], int(args[2]))
    elif what == "slide":
        slide(json.loads(args[0]), int(args[1]), args[2], int(args[3]),
              float(args[4]) if len(args) > 4 else 600)
    elif what == "train":
        chief_train(json.loads(args[0]), args[1], int(args[2]), args[3])
    else:
        raise SystemExit("unknown program %r" % what)
