"""Deep MNIST for experts: two conv layers, a dense layer with dropout, Adam (classic TF1).

    python tutorials/mnist_deep.py               # real MNIST, 20000 steps; ~99.2% test
    TFNB_MNIST_SOURCE=mnist5k TFNB_TUTORIAL_STEPS=300 python tutorials/mnist_deep.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tutorials import common  # noqa: E402


def weight_variable(shape):
    return tf.Variable(tf.truncated_normal(shape, stddev=0.1, seed=1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


def conv2d(x, W):
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def build_model(learning_rate=1e-4):
    """conv5x5x32 -> pool -> conv5x5x64 -> pool -> fc1024 (dropout) -> fc10, Adam."""
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
    keep_prob = tf.placeholder(tf.float32, name="keep_prob")
    with tf.name_scope("reshape"):
        x_image = tf.reshape(x, [-1, 28, 28, 1])
    with tf.name_scope("conv1"):
        W_conv1 = weight_variable([5, 5, 1, 32])
        h_conv1 = tf.nn.relu(conv2d(x_image, W_conv1) + bias_variable([32]))
    with tf.name_scope("pool1"):
        h_pool1 = max_pool_2x2(h_conv1)
    with tf.name_scope("conv2"):
        W_conv2 = weight_variable([5, 5, 32, 64])
        h_conv2 = tf.nn.relu(conv2d(h_pool1, W_conv2) + bias_variable([64]))
    with tf.name_scope("pool2"):
        h_pool2 = max_pool_2x2(h_conv2)
    with tf.name_scope("fc1"):
        W_fc1 = weight_variable([7 * 7 * 64, 1024])
        h_pool2_flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
        h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + bias_variable([1024]))
    with tf.name_scope("dropout"):
        h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob, seed=2)
    with tf.name_scope("fc2"):
        y_conv = tf.matmul(h_fc1_drop, weight_variable([1024, 10])) + bias_variable([10])
    with tf.name_scope("loss"):
        cross_entropy = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y_conv))
    with tf.name_scope("adam_optimizer"):
        train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)
    with tf.name_scope("accuracy"):
        correct = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return dict(x=x, y_=y_, keep_prob=keep_prob, logits=y_conv, loss=cross_entropy,
                train_step=train_step, accuracy=accuracy)


def train(sess, model, data, steps=20000, batch_size=50, callback=None):
    for step in range(steps):
        xs, ys = data.train.next_batch(batch_size)
        _, loss = sess.run([model["train_step"], model["loss"]],
                           {model["x"]: xs, model["y_"]: ys, model["keep_prob"]: 0.5})
        if callback is not None:
            callback(step, loss)
    return loss


def evaluate(sess, model, dataset, batch_size=1000):
    """Accuracy over ``dataset`` in batches (bounded memory), dropout off."""
    correct = 0.0
    n = dataset.num_examples
    for lo in range(0, n, batch_size):
        xs = dataset.images[lo:lo + batch_size]
        ys = dataset.labels[lo:lo + batch_size]
        acc = sess.run(model["accuracy"], {model["x"]: xs, model["y_"]: ys, model["keep_prob"]: 1.0})
        correct += float(acc) * len(xs)
    return correct / n


def main(data_dir=None, steps=None, learning_rate=1e-4):
    data = common.load_mnist(data_dir)
    with tf.Graph().as_default():
        model = build_model(learning_rate)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            last = train(sess, model, data, common.steps(steps or 20000))
            acc = evaluate(sess, model, data.test)
    print("final training loss %.4f, test accuracy %.4f" % (last, acc))
    return {"accuracy": acc, "source": data.source}


if __name__ == "__main__":
    main()
