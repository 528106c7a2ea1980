"""``tf.data``: input pipelines as graph-level datasets iterated in a session.

``Dataset`` (sources and transformations), the file readers ``TextLineDataset``,
``FixedLengthRecordDataset`` and ``TFRecordDataset``, ``Iterator`` and
``tf.data.experimental``. See tfnb/data/dataset_ops.py for the design.
"""
from . import experimental  # noqa: F401
from .dataset_ops import Dataset, DatasetV1  # noqa: F401
from .engine import AUTOTUNE  # noqa: F401
from .iterator_ops import (Iterator, get_output_classes, get_output_shapes,  # noqa: F401
                           get_output_types, make_initializable_iterator, make_one_shot_iterator)
from .readers import FixedLengthRecordDataset, TextLineDataset, TFRecordDataset  # noqa: F401
from . import batching, sources, transformations  # noqa: F401 - registers the dataset ops
from ..contrib import data as _contrib_data  # noqa: F401,E402 - binds tf.contrib.data
