"""The foundation demo: softmax regression in classic TF1 style, loss printed as it falls.

Data: a synthetic 10-class problem (Gaussian blobs around random centres, 784
features like MNIST's flattened 28x28 images) generated with a fixed seed -- no
download. The MNIST tutorials (tutorials/mnist_*.py) use real data.

Run: ``python tutorials/softmax_regression_demo.py [--steps N]``
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402


def make_data(n, n_features=784, n_classes=10, seed=0):
    """``n`` examples around class centres shared by every split (centres: seed 0)."""
    centres = np.random.RandomState(0).randn(n_classes, n_features).astype(np.float32) * 0.1
    rng = np.random.RandomState(1000 + seed)
    labels = rng.randint(0, n_classes, size=n)
    x = centres[labels] + rng.randn(n, n_features).astype(np.float32)
    return x.astype(np.float32), labels.astype(np.int64)


def main(steps=200, batch=100, report_every=20):
    print("data: synthetic 10-class Gaussian blobs, 784 features (fixed seed, no download)")
    x_train, y_train = make_data(6000, seed=0)
    x_test, y_test = make_data(1000, seed=1)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784], name="x")
        y_ = tf.placeholder(tf.int64, [None], name="labels")
        W = tf.Variable(tf.zeros([784, 10]), name="W")
        b = tf.Variable(tf.zeros([10]), name="b")
        logits = tf.matmul(x, W) + b
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
            labels=tf.one_hot(y_, 10), logits=logits))
        train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y_), tf.float32))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            t0 = time.perf_counter()
            first = last = None
            for step in range(steps):
                lo = (step * batch) % len(x_train)
                _, l = sess.run([train, loss], {x: x_train[lo:lo + batch], y_: y_train[lo:lo + batch]})
                first = l if first is None else first
                last = l
                if step % report_every == 0 or step == steps - 1:
                    print("step %4d  loss %.4f" % (step, l))
            dt = time.perf_counter() - t0
            acc = sess.run(accuracy, {x: x_test, y_: y_test})
    print("loss %.4f -> %.4f in %d steps (%.2f ms/step); test accuracy %.3f"
          % (first, last, steps, dt / steps * 1e3, acc))
    return first, last, acc


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    first, last, acc = main(args.steps)
    sys.exit(0 if last < first else 1)
