"""The CIFAR-10 convolutional network of TensorFlow's tutorial (``cifar10.py``, classic TF1).

    python tutorials/cifar10.py --max_steps 100000      # real data: ~86% test precision
    python tutorials/cifar10.py --synthetic --max_steps 200 --batch_size 32

Model: conv 5x5x64 + ReLU -> max-pool 3x3/2 -> LRN -> conv 5x5x64 + ReLU -> LRN -> max-pool ->
local3 (384, ReLU) -> local4 (192, ReLU) -> softmax_linear (10 logits). Weight decay on local3
and local4 is added to the ``losses`` collection; the total loss is the sum of that collection.
Training: SGD with an exponentially (staircase) decayed learning rate, moving averages of the
losses (for summaries) and of the trainable variables (used for evaluation).
"""
import argparse
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tutorials import cifar10_input  # noqa: E402

IMAGE_SIZE = cifar10_input.IMAGE_SIZE
NUM_CLASSES = cifar10_input.NUM_CLASSES
NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN = cifar10_input.NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN
NUM_EXAMPLES_PER_EPOCH_FOR_EVAL = cifar10_input.NUM_EXAMPLES_PER_EPOCH_FOR_EVAL

MOVING_AVERAGE_DECAY = 0.9999   # decay of the variables' moving averages
NUM_EPOCHS_PER_DECAY = 350.0    # epochs after which the learning rate decays
LEARNING_RATE_DECAY_FACTOR = 0.1
INITIAL_LEARNING_RATE = 0.1
TOWER_NAME = "tower"            # name-scope prefix of the multi-tower model's towers


def _activation_summary(x):
    """Histogram and sparsity (fraction of zeros) of an activation, tower prefix removed."""
    tensor_name = re.sub("%s_[0-9]*/" % TOWER_NAME, "", x.op.name)
    tf.summary.histogram(tensor_name + "/activations", x)
    tf.summary.scalar(tensor_name + "/sparsity", tf.nn.zero_fraction(x))


def _variable_on_cpu(name, shape, initializer):
    """A variable on /cpu:0, shared by every tower through ``tf.get_variable``."""
    with tf.device("/cpu:0"):
        return tf.get_variable(name, shape, initializer=initializer, dtype=tf.float32)


def _variable_with_weight_decay(name, shape, stddev, wd, seed=None):
    """A truncated-normal variable; ``wd`` adds ``wd * l2_loss(var)`` to collection ``losses``."""
    var = _variable_on_cpu(name, shape, tf.truncated_normal_initializer(stddev=stddev, seed=seed))
    if wd is not None:
        weight_decay = tf.multiply(tf.nn.l2_loss(var), wd, name="weight_loss")
        tf.add_to_collection("losses", weight_decay)
    return var


def inference(images, seed=None):
    """Logits [batch, 10] of ``images`` [batch, 24, 24, 3].

    Args:
        images: standardized images (from cifar10_input).
        seed: base seed of the weight initializers (None: random).
    """
    s = (lambda k: None) if seed is None else (lambda k: seed + k)
    with tf.variable_scope("conv1") as scope:
        kernel = _variable_with_weight_decay("weights", [5, 5, 3, 64], 5e-2, None, s(1))
        conv = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], padding="SAME")
        biases = _variable_on_cpu("biases", [64], tf.constant_initializer(0.0))
        conv1 = tf.nn.relu(tf.nn.bias_add(conv, biases), name=scope.name)
        _activation_summary(conv1)
    pool1 = tf.nn.max_pool(conv1, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME",
                           name="pool1")
    norm1 = tf.nn.lrn(pool1, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name="norm1")
    with tf.variable_scope("conv2") as scope:
        kernel = _variable_with_weight_decay("weights", [5, 5, 64, 64], 5e-2, None, s(2))
        conv = tf.nn.conv2d(norm1, kernel, [1, 1, 1, 1], padding="SAME")
        biases = _variable_on_cpu("biases", [64], tf.constant_initializer(0.1))
        conv2 = tf.nn.relu(tf.nn.bias_add(conv, biases), name=scope.name)
        _activation_summary(conv2)
    norm2 = tf.nn.lrn(conv2, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name="norm2")
    pool2 = tf.nn.max_pool(norm2, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME",
                           name="pool2")
    with tf.variable_scope("local3") as scope:
        dim = int(np.prod(pool2.get_shape().as_list()[1:]))
        reshape = tf.reshape(pool2, [-1, dim])
        weights = _variable_with_weight_decay("weights", [dim, 384], 0.04, 0.004, s(3))
        biases = _variable_on_cpu("biases", [384], tf.constant_initializer(0.1))
        local3 = tf.nn.relu(tf.matmul(reshape, weights) + biases, name=scope.name)
        _activation_summary(local3)
    with tf.variable_scope("local4") as scope:
        weights = _variable_with_weight_decay("weights", [384, 192], 0.04, 0.004, s(4))
        biases = _variable_on_cpu("biases", [192], tf.constant_initializer(0.1))
        local4 = tf.nn.relu(tf.matmul(local3, weights) + biases, name=scope.name)
        _activation_summary(local4)
    with tf.variable_scope("softmax_linear") as scope:
        weights = _variable_with_weight_decay("weights", [192, NUM_CLASSES], 1 / 192.0, None, s(5))
        biases = _variable_on_cpu("biases", [NUM_CLASSES], tf.constant_initializer(0.0))
        softmax_linear = tf.add(tf.matmul(local4, weights), biases, name=scope.name)
        _activation_summary(softmax_linear)
    return softmax_linear


def loss(logits, labels):
    """Mean cross entropy plus every weight-decay term of the ``losses`` collection."""
    labels = tf.cast(labels, tf.int64)
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits, name="cross_entropy_per_example")
    cross_entropy_mean = tf.reduce_mean(cross_entropy, name="cross_entropy")
    tf.add_to_collection("losses", cross_entropy_mean)
    return tf.add_n(tf.get_collection("losses"), name="total_loss")


def _add_loss_summaries(total_loss):
    """Moving averages (decay 0.9) of each loss and the total, with raw and smoothed summaries."""
    loss_averages = tf.train.ExponentialMovingAverage(0.9, name="avg")
    losses = tf.get_collection("losses")
    loss_averages_op = loss_averages.apply(losses + [total_loss])
    for l in losses + [total_loss]:
        tf.summary.scalar(l.op.name + " (raw)", l)
        tf.summary.scalar(l.op.name, loss_averages.average(l))
    return loss_averages_op


def learning_rate(global_step, batch_size, examples_per_epoch=NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN,
                  num_towers=1):
    """The tutorial's schedule: 0.1, times 0.1 every 350 epochs (staircase)."""
    num_batches_per_epoch = examples_per_epoch / batch_size / num_towers
    decay_steps = max(1, int(num_batches_per_epoch * NUM_EPOCHS_PER_DECAY))
    return tf.train.exponential_decay(INITIAL_LEARNING_RATE, global_step, decay_steps,
                                      LEARNING_RATE_DECAY_FACTOR, staircase=True)


def train(total_loss, global_step, batch_size=128,
          examples_per_epoch=NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN):
    """The train op: one SGD step, then the variables' moving averages.

    Returns:
        An op that applies the gradients (incrementing ``global_step``) and updates the
        moving averages of the trainable variables.
    """
    lr = learning_rate(global_step, batch_size, examples_per_epoch)
    tf.summary.scalar("learning_rate", lr)
    loss_averages_op = _add_loss_summaries(total_loss)
    with tf.control_dependencies([loss_averages_op]):
        opt = tf.train.GradientDescentOptimizer(lr)
        grads = opt.compute_gradients(total_loss)
    apply_gradient_op = opt.apply_gradients(grads, global_step=global_step)
    for var in tf.trainable_variables():
        tf.summary.histogram(var.op.name, var)
    for grad, var in grads:
        if grad is not None:
            tf.summary.histogram(var.op.name + "/gradients", grad)
    variable_averages = tf.train.ExponentialMovingAverage(MOVING_AVERAGE_DECAY, global_step)
    with tf.control_dependencies([apply_gradient_op]):
        variables_averages_op = variable_averages.apply(tf.trainable_variables())
    return variables_averages_op


# ---------------------------------------------------------------------------------------------
# Training and evaluation loops (cifar10_train.py, cifar10_eval.py)

def build_training_graph(data_dir, batch_size=128, input_pipeline="queues", seed=None,
                         num_threads=2):
    """Input (``"queues"`` or ``"data"``), inference, loss and train op in the default graph.

    Returns:
        dict with images, labels, logits, loss (total), cross_entropy, train_op, global_step,
        summary_op, learning_rate.
    """
    global_step = tf.train.get_or_create_global_step()
    with tf.device("/cpu:0"):
        if input_pipeline == "queues":
            images, labels = cifar10_input.distorted_inputs(data_dir, batch_size,
                                                            num_threads=num_threads, seed=seed)
        elif input_pipeline == "data":
            ds = cifar10_input.dataset(data_dir, batch_size, seed=seed,
                                       num_parallel_calls=num_threads)
            images, labels = ds.make_one_shot_iterator().get_next()
        else:
            raise ValueError("input_pipeline must be 'queues' or 'data', got %r"
                             % (input_pipeline,))
    logits = inference(images, seed=seed)
    total_loss = loss(logits, labels)
    examples = cifar10_input.num_examples(data_dir, eval_data=False)
    train_op = train(total_loss, global_step, batch_size, examples)
    graph = tf.get_default_graph()
    return dict(images=images, labels=labels, logits=logits, loss=total_loss,
                cross_entropy=graph.get_tensor_by_name("cross_entropy:0"), train_op=train_op,
                global_step=global_step, summary_op=tf.summary.merge_all(),
                learning_rate=graph.get_tensor_by_name("ExponentialDecay:0"))


def run_training(sess, model, steps, callback=None, summary_writer=None, summary_every=10):
    """Runs ``steps`` train steps.

    ``callback(step, loss, cross_entropy=...)`` is called after each (a TrainingMonitor fits);
    every ``summary_every`` steps the merged summaries go to ``summary_writer``.

    Returns:
        The total losses of the steps (a list of floats).
    """
    losses = []
    for step in range(steps):
        want_summary = summary_writer is not None and step % summary_every == 0
        fetches = [model["train_op"], model["loss"], model["cross_entropy"]]
        if want_summary:
            fetches.append(model["summary_op"])
        out = sess.run(fetches)
        loss_value = float(out[1])
        if not np.isfinite(loss_value):
            raise RuntimeError("Model diverged with loss = NaN at step %d" % step)
        if want_summary:
            summary_writer.add_summary(out[3], sess.run(model["global_step"]))
        losses.append(loss_value)
        if callback is not None:
            callback(step, loss_value, cross_entropy=float(out[2]))
    return losses


def evaluate(checkpoint_path, data_dir, batch_size=100, use_moving_averages=True,
             max_examples=None):
    """Precision @ 1 on the test file, with the moving averages restored (cifar10_eval.py).

    Builds its own graph, restores ``checkpoint_path`` (the averages into the variables when
    ``use_moving_averages``) and classifies the test images in order through tf.data.

    Returns:
        dict(precision, predictions, labels, images) with the uint8-free standardized images.
    """
    n = cifar10_input.num_examples(data_dir, eval_data=True)
    if max_examples:
        n = min(n, max_examples)
    batch_size = min(batch_size, n)
    with tf.Graph().as_default():
        ds = cifar10_input.dataset(data_dir, batch_size, eval_data=True, repeat=False)
        images, labels = ds.make_one_shot_iterator().get_next()
        logits = inference(images)
        predictions = tf.argmax(logits, 1)
        if use_moving_averages:
            averages = tf.train.ExponentialMovingAverage(MOVING_AVERAGE_DECAY)
            saver = tf.train.Saver(averages.variables_to_restore())
        else:
            saver = tf.train.Saver(tf.trainable_variables())
        preds, labs = [], []
        with tf.Session() as sess:
            saver.restore(sess, checkpoint_path)
            for _ in range(n // batch_size):
                p, l = sess.run([predictions, labels])
                preds.append(p)
                labs.append(l)
    preds = np.concatenate(preds)
    labs = np.concatenate(labs)
    return dict(precision=float(np.mean(preds == labs)), predictions=preds, labels=labs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None, help="folder of the CIFAR-10 binaries")
    parser.add_argument("--train_dir", default="/tmp/cifar10_train")
    parser.add_argument("--max_steps", type=int, default=100000)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--input", choices=["queues", "data"], default="queues")
    parser.add_argument("--synthetic", action="store_true",
                        help="write and use a small synthetic data set in the real binary format")
    parser.add_argument("--log_frequency", type=int, default=10)
    args = parser.parse_args(argv)
    data_dir = cifar10_input.find_data_dir(args.data_dir)
    if args.synthetic or data_dir is None:
        if not args.synthetic:
            sys.exit("CIFAR-10 binaries not found: place cifar-10-batches-bin/ (from "
                     "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) in %s, or pass "
                     "--data_dir, or --synthetic" % os.path.dirname(
                         cifar10_input.default_data_dir()))
        data_dir = cifar10_input.write_synthetic_binaries(os.path.join(args.train_dir, "synthetic"),
                                                          examples_per_file=500)
        print("data: SYNTHETIC images in the real CIFAR-10 binary format, in", data_dir)
    else:
        print("data: real CIFAR-10 binaries in", data_dir)
    os.makedirs(args.train_dir, exist_ok=True)
    with tf.Graph().as_default():
        model = build_training_graph(data_dir, args.batch_size, args.input, num_threads=4)
        saver = tf.train.Saver()
        writer = tf.summary.FileWriter(args.train_dir, tf.get_default_graph())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess=sess, coord=coord)
            start = time.time()

            def log(step, loss_value, **_):
                nonlocal start
                if step % args.log_frequency == 0:
                    rate = args.log_frequency * args.batch_size / max(time.time() - start, 1e-9)
                    print("step %d, loss = %.2f (%.1f examples/sec)" % (step, loss_value, rate))
                    start = time.time()
                if (step + 1) % 1000 == 0 or step + 1 == args.max_steps:
                    saver.save(sess, os.path.join(args.train_dir, "model.ckpt"),
                               global_step=step + 1)
            run_training(sess, model, args.max_steps, log, writer)
            coord.request_stop()
            coord.join(threads)
        writer.close()
    result = evaluate(tf.train.latest_checkpoint(args.train_dir), data_dir)
    print("precision @ 1 = %.3f" % result["precision"])
    return result


if __name__ == "__main__":
    main()
