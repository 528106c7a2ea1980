"""``tf.contrib.slim``: the parts of TF-Slim that tfnb has (``slim.prefetch_queue``)."""
from . import prefetch_queue  # noqa: F401
