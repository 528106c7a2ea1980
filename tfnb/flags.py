"""``tf.flags``: the same absl-style flags as ``tf.app.flags``."""
from .app.flags import *  # noqa: F401,F403
from .app.flags import FLAGS  # noqa: F401
