"""``tf.losses``: weighted losses collected in ``GraphKeys.LOSSES`` (definitions in losses_impl)."""
from .losses_impl import *  # noqa: F401,F403
