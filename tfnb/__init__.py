"""tfnb: a notebook-first dataflow ML system with the TensorFlow 1.x API.

``import tfnb as tf`` and write classic TF1 graph code. This module only
re-exports the public names; the logic lives in ``tfnb.framework`` (the graph),
``tfnb.ops`` (op definitions), ``tfnb.runtime`` (sessions) and ``tfnb.train``.
"""
from .framework import errors
from .framework.dtypes import (DType, as_dtype, bfloat16, bool_ as bool, complex64, complex128,
                               double, float16, float32, float64, half, int8, int16, int32, int64,
                               resource, string, uint8, uint16, uint32, uint64, variant)
from .framework.device_spec import DeviceSpec
from .framework.graph import (Graph, GraphKeys, IndexedSlices, Operation, Tensor, add_to_collection,
                              add_to_collections, colocate_with, control_dependencies, device,
                              get_collection, get_collection_ref, get_default_graph, name_scope,
                              reset_default_graph)
from .framework.registry import (NOT_DIFFERENTIABLE, NoGradient, NotDifferentiable,  # noqa: F401
                                 RegisterGradient, no_gradient, register_op)
from .framework.tensor_shape import Dimension, TensorShape
from .ops.array_ops import *  # noqa: F401,F403
from .ops.control_flow_ops import *  # noqa: F401,F403
from .ops.core import (constant, convert_to_tensor, is_tensor,  # noqa: F401
                       register_tensor_conversion_function)
from .ops.gradients import AggregationMethod, gradients, hessians, stop_gradient  # noqa: F401
from .ops.custom_gradient import custom_gradient, identity_n  # noqa: F401
from .ops.script_ops import numpy_function, py_func  # noqa: F401
from .ops.math_ops import *  # noqa: F401,F403
from .ops.sparse_ops import *  # noqa: F401,F403
from .ops.segment_ops import *  # noqa: F401,F403
from .ops.linalg_ops import *  # noqa: F401,F403
from .ops.layout_ops import *  # noqa: F401,F403
from .ops.scatter_nd_ops import *  # noqa: F401,F403
from .ops.string_ops import *  # noqa: F401,F403
from .ops.extra_math_ops import *  # noqa: F401,F403
from .ops.array_extra_ops import *  # noqa: F401,F403
from .ops.random_ops import *  # noqa: F401,F403
from .ops.init_ops import *  # noqa: F401,F403
from .ops.logging_ops import *  # noqa: F401,F403
from .ops.check_ops import *  # noqa: F401,F403
from .ops.clip_ops import *  # noqa: F401,F403
from .ops.tensor_array_ops import *  # noqa: F401,F403
from .ops.data_flow_ops import *  # noqa: F401,F403
from .ops.priority_queue import PriorityQueue  # noqa: F401
from .ops.accumulator_ops import *  # noqa: F401,F403
from .ops.map_fn_ops import *  # noqa: F401,F403
from .ops.variables import *  # noqa: F401,F403
from .ops.variable_scope import *  # noqa: F401,F403
from . import client, contrib, debugging, initializers, layers, math, nn, random, train  # noqa: F401
from . import bitwise, linalg, manip, metrics, sparse, strings  # noqa: F401
from . import function  # noqa: F401 - tf.function decorator and tfnb.function.Defun
from .function import TensorSpec  # noqa: F401
from . import losses  # noqa: F401
from . import data  # noqa: F401 - tf.data (input pipelines)
from .ops.parsing_ops import *  # noqa: F401,F403 - parse_example, decode_raw, FixedLenFeature
from .ops.io_ops import *  # noqa: F401,F403 - read_file, the queue-based readers
from . import gfile, image, io, python_io  # noqa: F401 - tf.gfile, tf.image, tf.io, ...
from . import app, flags, logging  # noqa: F401 - tf.app.run, tf.app.flags/tf.flags, tf.logging
from .ops.image_ops import random_crop  # noqa: F401 - TF1's tf.random_crop
from . import lookup  # noqa: F401 - tf.lookup (and tf.contrib.lookup)
from .ops.lookup_ops import tables_initializer  # noqa: F401
from .ops.ragged_ops import RaggedTensor  # noqa: F401 - tf.RaggedTensor
from . import ragged  # noqa: F401 - tf.ragged (constant, ...)
from .summary import Event, SessionLog, Summary, SummaryMetadata  # noqa: F401 - binds tf.summary
from .framework.graph_io import GraphDef, NodeDef, import_graph_def  # noqa: F401
from . import saved_model  # noqa: F401 - tf.saved_model (TensorFlow's layout; protobuf on use)
from . import compat, graph_util  # noqa: F401 - tf.compat.v1 (tfnb itself), tf.graph_util
from .runtime.devices import list_local_devices as list_devices  # noqa: F401
from .runtime.eager import disable_eager_execution, enable_eager_execution, executing_eagerly
from .runtime.session import (ConfigProto, InteractiveSession, RunMetadata, RunOptions, Session,
                              get_default_session)
from .runtime.passes.config import GraphOptions, OptimizerOptions  # noqa: F401
from .framework.dtypes import qint8, qint16, qint32, quint8, quint16  # noqa: F401
from . import quantization  # noqa: F401 - tf.quantization
from .ops.quantization_ops import (dequantize, fake_quant_with_min_max_args,  # noqa: F401
                                   fake_quant_with_min_max_args_gradient,
                                   fake_quant_with_min_max_vars,
                                   fake_quant_with_min_max_vars_gradient,
                                   fake_quant_with_min_max_vars_per_channel,
                                   fake_quant_with_min_max_vars_per_channel_gradient, quantize,
                                   quantize_v2)

from .ops.array_ops import range_ as range  # noqa: E402,A001 - TF1 name
from .ops import removed_names as _removed_names  # noqa: E402

__version__ = "0.1.0"
newaxis = None
# tf.mul, tf.select, ... (removed in TF 1.0) raise AttributeError naming their successors.
__getattr__ = _removed_names.module_getattr(__name__)


def load_ipython_extension(ipython):
    """``%load_ext tfnb``: eager interactive session, rich reprs, magics (see tfnb.notebook)."""
    from .notebook.magics import load_ipython_extension as _load
    _load(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext tfnb``: removes the magics, restores the previous eager setting."""
    from .notebook.magics import unload_ipython_extension as _unload
    _unload(ipython)
