"""``from tensorflow.python.platform import gfile``: the same names as ``tf.gfile``."""
from ...io.gfile import *  # noqa: F401,F403
from ...io.gfile import FileStatistics  # noqa: F401
