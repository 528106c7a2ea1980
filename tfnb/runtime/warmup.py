"""Compiling the numba kernels ahead of their first use: ``python -m tfnb.runtime.warmup``.

With ``tfnb[fast]`` installed, pooling, Winograd convolutions, sparse row sums, the candidate
sampler and fused elementwise groups run as numba kernels, compiled on first use and cached
on disk (``fusion_codegen.cache_dir()``, ``~/.cache/tfnb``): later processes load them in
milliseconds, but the first use on a machine compiles them -- measured at load ~3 on 2 cores:
Winograd 5x5 forward 6.0 s, its filter gradient 1.5 s, max-pool and its gradient 3.6 s
(before the Winograd kernels were fused; now 64 s for all of them, quiet, cold cache). Paid
inside a step, that can exceed a cluster step's deadline (``operation_timeout_in_ms``, 20 s),
when every task process compiles the same kernels at once. :func:`compile_kernels` runs one
small training step of each kind through the public ops, float32 (float64 kernels still
compile on first use), so the cache is filled once; the test suite calls it before its first
test and ``tfnb.distribute.train`` before it starts the replicas (the tasks of a local cluster
share the cache). Once per process; without numba it returns at once.
"""
import threading
import time

__all__ = ["compile_kernels"]

_lock = threading.Lock()
_spent = None


def compile_kernels(verbose=False):
    """Runs each numba-backed kernel once on small float32 inputs (the first call in a process;
    later calls return at once); returns the seconds spent, or 0.0 where numba is not
    installed."""
    global _spent
    with _lock:
        if _spent is None:
            _spent = _compile(verbose)
        return _spent


def _compile(verbose):
    from .passes import fusion_codegen
    if not fusion_codegen.available():
        return 0.0
    import numpy as np

    import tfnb as tf

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        x = tf.constant(rng.random((2, 9, 9, 8), dtype=np.float32))
        losses = []
        for k in (3, 5):  # the two Winograd filter sizes: forward, input and filter gradients
            w = tf.Variable(rng.random((k, k, 8, 8), dtype=np.float32))
            b = tf.Variable(np.zeros(8, np.float32))  # conv + bias + ReLU: one kernel
            y = tf.nn.relu(tf.nn.conv2d(x * w[0, 0, 0, 0], w, [1, 1, 1, 1], "SAME") + b)
            y = tf.nn.max_pool(y, [1, 3, 3, 1], [1, 2, 2, 1], "SAME") + \
                tf.nn.avg_pool(y, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
            losses.append(tf.reduce_sum(y))
        # An input layer (5x5 over 3 channels: 75-value patch rows): the patch-GEMM kernels.
        w_in = tf.Variable(rng.random((5, 5, 3, 8), dtype=np.float32))
        x_in = tf.constant(rng.random((2, 9, 9, 3), dtype=np.float32))
        y_in = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x_in, w_in, [1, 1, 1, 1], "SAME"),
                                         tf.Variable(np.zeros(8, np.float32))))
        losses.append(tf.reduce_sum(tf.nn.max_pool(y_in, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")))
        emb = tf.Variable(rng.random((64, 8), dtype=np.float32))
        w_nce = tf.Variable(rng.random((64, 8), dtype=np.float32))
        b_nce = tf.Variable(np.zeros(64, np.float32))
        ids = tf.constant(np.array([1, 5, 5, 9], np.int32))
        nce = tf.nn.nce_loss(w_nce, b_nce, tf.constant(np.array([[2], [3], [3], [4]], np.int64)),
                             tf.nn.embedding_lookup(emb, ids), num_sampled=4, num_classes=64)
        losses.append(tf.reduce_mean(nce))
        loss = tf.add_n(losses)
        train = tf.train.GradientDescentOptimizer(1e-3).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run([train, loss])
    spent = time.perf_counter() - start
    if verbose:
        print("tfnb kernels compiled or loaded from %s in %.1f s"
              % (fusion_codegen.cache_dir(), spent))
    return spent


if __name__ == "__main__":
    compile_kernels(verbose=True)
