"""``tf.contrib.opt``: the external (SciPy) optimizer interface."""
from ..train.optimizers import ScipyOptimizerInterface  # noqa: F401
