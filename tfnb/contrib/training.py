"""``tf.contrib.training``: the ps placement strategies for ``tf.train.replica_device_setter``."""
from ..train.device_setter import (GreedyLoadBalancingStrategy, RandomStrategy,  # noqa: F401
                                   byte_size_load_fn)
