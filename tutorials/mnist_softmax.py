"""MNIST for ML beginners: softmax regression trained with gradient descent (classic TF1).

    python tutorials/mnist_softmax.py            # real MNIST (cached or downloaded); ~92% test
    TFNB_MNIST_SOURCE=mnist5k python tutorials/mnist_softmax.py   # offline, bundled subset
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tutorials import common  # noqa: E402


def build_model():
    """The tutorial's graph: y = softmax(x W + b), cross-entropy loss, one SGD step."""
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    W = tf.Variable(tf.zeros([784, 10]), name="W")
    b = tf.Variable(tf.zeros([10]), name="b")
    y = tf.matmul(x, W) + b
    y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    correct = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return dict(x=x, y_=y_, logits=y, loss=cross_entropy, train_step=train_step,
                accuracy=accuracy)


def train(sess, model, data, steps=1000, batch_size=100, callback=None):
    """Runs ``steps`` SGD steps on mini-batches; ``callback(step, loss)`` after each."""
    for step in range(steps):
        batch_xs, batch_ys = data.train.next_batch(batch_size)
        _, loss = sess.run([model["train_step"], model["loss"]],
                           {model["x"]: batch_xs, model["y_"]: batch_ys})
        if callback is not None:
            callback(step, loss)
    return loss


def evaluate(sess, model, dataset):
    return float(sess.run(model["accuracy"], {model["x"]: dataset.images,
                                              model["y_"]: dataset.labels}))


def main(data_dir=None, steps=None):
    data = common.load_mnist(data_dir)
    with tf.Graph().as_default():
        model = build_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            last = train(sess, model, data, common.steps(steps or 1000))
            acc = evaluate(sess, model, data.test)
    print("final training loss %.4f, test accuracy %.4f" % (last, acc))
    return {"accuracy": acc, "source": data.source}


if __name__ == "__main__":
    main()
