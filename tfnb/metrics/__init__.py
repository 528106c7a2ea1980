"""``tf.metrics``: streaming metrics over many batches (definitions in metrics_impl)."""
from .metrics_impl import *  # noqa: F401,F403
