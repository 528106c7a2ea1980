"""``tf.train``: optimizers, and later checkpoints and training helpers."""
from .optimizer import GradientDescentOptimizer, Optimizer  # noqa: F401
