"""CIFAR-10 trained on several devices at once (TensorFlow's ``cifar10_multi_gpu_train.py``).

    python tutorials/cifar10_multi_gpu_train.py --num_towers 2 --synthetic --max_steps 100

Each tower (a copy of the model on its own device, ``/gpu:N`` where GPUs exist, else virtual
CPU devices ``/cpu:N`` from ``ConfigProto(device_count={'CPU': N})``) takes its own batch from
a prefetch queue, computes the loss and its gradients; the gradients of all towers are
averaged on /cpu:0, where the shared variables live, and applied once. One step therefore
trains on ``num_towers * batch_size`` images.
"""
import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tutorials import cifar10, cifar10_input  # noqa: E402


def tower_loss(scope, images, labels, seed=None):
    """Total loss of one tower: its cross entropy plus the weight decay of the shared weights.

    Args:
        scope: the tower's name scope ("tower_0/"), which selects its own ``losses``.
        images, labels: the tower's batch.
        seed: initializer seed (only the first tower creates variables).
    """
    logits = cifar10.inference(images, seed=seed)
    cifar10.loss(logits, labels)
    losses = tf.get_collection("losses", scope)
    total_loss = tf.add_n(losses, name="total_loss")
    for l in losses + [total_loss]:
        loss_name = re.sub("%s_[0-9]*/" % cifar10.TOWER_NAME, "", l.op.name)
        tf.summary.scalar(loss_name, l)
    return total_loss


def average_gradients(tower_grads):
    """The mean over towers of each variable's gradient.

    Args:
        tower_grads: one list of (gradient, variable) per tower, variables in the same order.

    Returns:
        A list of (mean gradient, variable).
    """
    average_grads = []
    for grad_and_vars in zip(*tower_grads):
        grads = [tf.expand_dims(g, 0) for g, _ in grad_and_vars]
        grad = tf.reduce_mean(tf.concat(axis=0, values=grads), 0)
        average_grads.append((grad, grad_and_vars[0][1]))
    return average_grads


def prefetch_queue(tensors, capacity, num_threads=1, name="prefetch_queue"):
    """A FIFO queue of whole batches kept full by a queue runner (as slim's ``prefetch_queue``)."""
    with tf.name_scope(name):
        queue = tf.FIFOQueue(capacity, [t.dtype for t in tensors],
                             shapes=[t.get_shape() for t in tensors])
        enqueue = queue.enqueue(tensors)
        tf.train.add_queue_runner(tf.train.QueueRunner(queue, [enqueue] * num_threads))
    return queue


def tower_device(i, num_gpus=0):
    """``/gpu:i`` when there are GPUs, else the virtual CPU device ``/cpu:i``."""
    return ("/gpu:%d" if num_gpus else "/cpu:%d") % i


def build_multi_tower_graph(data_dir, num_towers=2, batch_size=128, input_pipeline="queues",
                            num_gpus=0, seed=None, num_threads=2):
    """The multi-tower training graph in the default graph.

    Returns:
        dict with train_op, loss (tower 0's total loss), tower_losses, cross_entropy (the
        towers' mean), global_step,
        learning_rate, summary_op, towers (the device of each tower).
    """
    with tf.device("/cpu:0"):
        global_step = tf.train.get_or_create_global_step()
        examples = cifar10_input.num_examples(data_dir, eval_data=False)
        lr = cifar10.learning_rate(global_step, batch_size, examples, num_towers)
        opt = tf.train.GradientDescentOptimizer(lr)
        if input_pipeline == "queues":
            images, labels = cifar10_input.distorted_inputs(data_dir, batch_size,
                                                            num_threads=num_threads, seed=seed)
            batch_queue = prefetch_queue([images, labels], capacity=2 * num_towers)
            next_batch = batch_queue.dequeue
        else:
            ds = cifar10_input.dataset(data_dir, batch_size, seed=seed,
                                       num_parallel_calls=num_threads)
            next_batch = ds.make_one_shot_iterator().get_next
        tower_grads, tower_losses, devices = [], [], []
        with tf.variable_scope(tf.get_variable_scope()):
            for i in range(num_towers):
                devices.append(tower_device(i, num_gpus))
                with tf.device(devices[-1]):
                    with tf.name_scope("%s_%d" % (cifar10.TOWER_NAME, i)) as scope:
                        image_batch, label_batch = next_batch()
                        tower_losses.append(tower_loss(scope, image_batch, label_batch, seed))
                        tf.get_variable_scope().reuse_variables()
                        summaries = tf.get_collection(tf.GraphKeys.SUMMARIES, scope)
                        tower_grads.append(opt.compute_gradients(tower_losses[-1]))
        grads = average_gradients(tower_grads)
        summaries.append(tf.summary.scalar("learning_rate", lr))
        for grad, var in grads:
            if grad is not None:
                summaries.append(tf.summary.histogram(var.op.name + "/gradients", grad))
        apply_gradient_op = opt.apply_gradients(grads, global_step=global_step)
        for var in tf.trainable_variables():
            summaries.append(tf.summary.histogram(var.op.name, var))
        variable_averages = tf.train.ExponentialMovingAverage(cifar10.MOVING_AVERAGE_DECAY,
                                                              global_step)
        variables_averages_op = variable_averages.apply(tf.trainable_variables())
        train_op = tf.group(apply_gradient_op, variables_averages_op)
        graph = tf.get_default_graph()
        cross_entropy = tf.add_n([graph.get_tensor_by_name("%s_%d/cross_entropy:0"
                                                          % (cifar10.TOWER_NAME, i))
                                  for i in range(num_towers)]) / float(num_towers)
    return dict(train_op=train_op, loss=tower_losses[0], tower_losses=tower_losses,
                cross_entropy=cross_entropy,
                global_step=global_step, learning_rate=lr, summary_op=tf.summary.merge(summaries),
                towers=devices)


def session_config(num_towers, num_gpus=0, log_device_placement=False):
    """A ConfigProto with ``num_towers`` virtual CPU devices (when there are no GPUs)."""
    return tf.ConfigProto(allow_soft_placement=True, log_device_placement=log_device_placement,
                          device_count={"CPU": max(num_towers, 1) if not num_gpus else 1})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--train_dir", default="/tmp/cifar10_multi_train")
    parser.add_argument("--max_steps", type=int, default=100000)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--num_towers", type=int, default=2)
    parser.add_argument("--num_gpus", type=int, default=0)
    parser.add_argument("--input", choices=["queues", "data"], default="queues")
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args(argv)
    data_dir = cifar10_input.find_data_dir(args.data_dir)
    if args.synthetic or data_dir is None:
        if not args.synthetic:
            sys.exit("CIFAR-10 binaries not found (see tutorials/cifar10.py); or pass --synthetic")
        data_dir = cifar10_input.write_synthetic_binaries(os.path.join(args.train_dir, "synthetic"),
                                                          examples_per_file=500)
        print("data: SYNTHETIC images in the real CIFAR-10 binary format, in", data_dir)
    else:
        print("data: real CIFAR-10 binaries in", data_dir)
    os.makedirs(args.train_dir, exist_ok=True)
    with tf.Graph().as_default():
        model = build_multi_tower_graph(data_dir, args.num_towers, args.batch_size, args.input,
                                        args.num_gpus, num_threads=4)
        saver = tf.train.Saver(tf.global_variables())
        with tf.Session(config=session_config(args.num_towers, args.num_gpus)) as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess=sess, coord=coord)
            for step in range(args.max_steps):
                _, loss_value = sess.run([model["train_op"], model["loss"]])
                if not np.isfinite(loss_value):
                    raise RuntimeError("Model diverged with loss = NaN at step %d" % step)
                if step % 10 == 0:
                    print("step %d, loss = %.2f" % (step, loss_value))
                if (step + 1) % 1000 == 0 or step + 1 == args.max_steps:
                    saver.save(sess, os.path.join(args.train_dir, "model.ckpt"),
                               global_step=step + 1)
            coord.request_stop()
            coord.join(threads)
    result = cifar10.evaluate(tf.train.latest_checkpoint(args.train_dir), data_dir)
    print("precision @ 1 = %.3f" % result["precision"])
    return result


if __name__ == "__main__":
    main()
