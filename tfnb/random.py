"""``tf.random``: the random ops under their namespaced names."""
from .ops.random_ops import categorical, get_seed, multinomial, random_shuffle as shuffle  # noqa: F401
from .ops.random_ops import random_gamma as gamma  # noqa: F401
from .ops.random_ops import random_normal as normal  # noqa: F401
from .ops.random_ops import random_poisson as poisson  # noqa: F401
from .ops.random_ops import random_uniform as uniform  # noqa: F401
from .ops.random_ops import set_random_seed, truncated_normal  # noqa: F401
