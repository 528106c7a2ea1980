"""Mechanics 101: MNIST with two hidden layers, fed through placeholders (TF1's fully_connected_feed).

The model is built by ``inference`` / ``loss`` / ``training`` / ``evaluation``; the loop
writes summaries, saves checkpoints and evaluates on train/validation/test every
``eval_every`` steps and at the end.

    python tutorials/fully_connected_feed.py --max_steps=2000      # real MNIST; ~90% test
    TFNB_MNIST_SOURCE=mnist5k python tutorials/fully_connected_feed.py --max_steps=500
"""
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tutorials import common  # noqa: E402

NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28


def placeholder_inputs(batch_size):
    images = tf.placeholder(tf.float32, shape=(batch_size, IMAGE_PIXELS), name="images")
    labels = tf.placeholder(tf.int32, shape=(batch_size,), name="labels")
    return images, labels


def fill_feed_dict(data_set, images_pl, labels_pl, batch_size):
    images, labels = data_set.next_batch(batch_size)
    return {images_pl: images, labels_pl: labels}


def inference(images, hidden1_units, hidden2_units):
    """images -> relu(hidden1) -> relu(hidden2) -> logits [batch, 10]."""
    def layer(name, x, n_in, n_out, relu=True):
        with tf.name_scope(name):
            w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=1.0 / math.sqrt(n_in),
                                                seed=len(name)), name="weights")
            b = tf.Variable(tf.zeros([n_out]), name="biases")
            y = tf.matmul(x, w) + b
            return tf.nn.relu(y) if relu else y
    hidden1 = layer("hidden1", images, IMAGE_PIXELS, hidden1_units)
    hidden2 = layer("hidden2", hidden1, hidden1_units, hidden2_units)
    return layer("softmax_linear", hidden2, hidden2_units, NUM_CLASSES, relu=False)


def loss(logits, labels):
    labels = tf.to_int64(labels)
    return tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)


def training(loss_op, learning_rate):
    tf.summary.scalar("loss", loss_op)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    global_step = tf.Variable(0, name="global_step", trainable=False)
    return optimizer.minimize(loss_op, global_step=global_step)


def evaluation(logits, labels):
    """Number of examples whose true label is the top prediction."""
    correct = tf.nn.in_top_k(logits, labels, 1)
    return tf.reduce_sum(tf.cast(correct, tf.int32))


def do_eval(sess, eval_correct, images_pl, labels_pl, data_set, batch_size):
    """Precision over whole batches of ``data_set`` (as the tutorial: the remainder is skipped)."""
    steps_per_epoch = data_set.num_examples // batch_size
    num_examples = steps_per_epoch * batch_size
    true_count = 0
    for _ in range(steps_per_epoch):
        true_count += sess.run(eval_correct,
                               fill_feed_dict(data_set, images_pl, labels_pl, batch_size))
    precision = float(true_count) / num_examples if num_examples else float("nan")
    print("  Num examples: %d  Num correct: %d  Precision @ 1: %0.04f"
          % (num_examples, true_count, precision))
    return precision


def run_training(data_sets, log_dir, max_steps=2000, batch_size=100, hidden1=128, hidden2=32,
                 learning_rate=0.01, eval_every=1000, callback=None):
    """Trains and evaluates; returns precisions per split and the loss history."""
    if tf.gfile.Exists(log_dir):
        tf.gfile.DeleteRecursively(log_dir)
    tf.gfile.MakeDirs(log_dir)
    result = {"losses": []}
    with tf.Graph().as_default():
        images_pl, labels_pl = placeholder_inputs(batch_size)
        logits = inference(images_pl, hidden1, hidden2)
        loss_op = loss(logits, labels_pl)
        train_op = training(loss_op, learning_rate)
        eval_correct = evaluation(logits, labels_pl)
        summary = tf.summary.merge_all()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            writer = tf.summary.FileWriter(log_dir, sess.graph)
            sess.run(tf.global_variables_initializer())
            start = time.time()
            for step in range(max_steps):
                feed = fill_feed_dict(data_sets.train, images_pl, labels_pl, batch_size)
                _, loss_value = sess.run([train_op, loss_op], feed_dict=feed)
                result["losses"].append(float(loss_value))
                if callback is not None:
                    callback(step, loss_value)
                if step % 100 == 0:
                    writer.add_summary(sess.run(summary, feed_dict=feed), step)
                    writer.flush()
                if (step + 1) % eval_every == 0 or (step + 1) == max_steps:
                    print("Step %d: loss = %.2f (%.3f sec)" % (step, loss_value,
                                                              time.time() - start))
                    result["checkpoint"] = saver.save(sess, os.path.join(log_dir, "model.ckpt"),
                                                      global_step=step)
                    for name in ("train", "validation", "test"):
                        print("%s Data Eval:" % name.capitalize())
                        result[name] = do_eval(sess, eval_correct, images_pl, labels_pl,
                                               getattr(data_sets, name), batch_size)
            writer.close()
    return result


def main(_):
    FLAGS = tf.app.flags.FLAGS
    data_sets = common.load_mnist(FLAGS.input_data_dir, one_hot=False)
    run_training(data_sets, FLAGS.log_dir, FLAGS.max_steps, FLAGS.batch_size, FLAGS.hidden1,
                 FLAGS.hidden2, FLAGS.learning_rate)


if __name__ == "__main__":
    flags = tf.app.flags
    flags.DEFINE_float("learning_rate", 0.01, "Initial learning rate.")
    flags.DEFINE_integer("max_steps", 2000, "Number of steps to run trainer.")
    flags.DEFINE_integer("hidden1", 128, "Number of units in hidden layer 1.")
    flags.DEFINE_integer("hidden2", 32, "Number of units in hidden layer 2.")
    flags.DEFINE_integer("batch_size", 100, "Batch size; must divide the data set sizes.")
    flags.DEFINE_string("input_data_dir", None, "Directory with the MNIST files.")
    flags.DEFINE_string("log_dir", "/tmp/tfnb/fully_connected_feed", "Summaries/checkpoints.")
    tf.app.run(main=main)
