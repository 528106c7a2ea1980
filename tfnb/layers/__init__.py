"""``tf.layers``: layer objects and their functional forms (definitions in layers.py)."""
from .layers import *  # noqa: F401,F403
