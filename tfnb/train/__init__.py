"""``tf.train``: optimizers, learning-rate schedules, moving averages, checkpoints, queue runners."""
from .coordinator import Coordinator  # noqa: F401
from .learning_rate_decay import *  # noqa: F401,F403
from .moving_averages import *  # noqa: F401,F403
from .optimizer import GradientDescentOptimizer, Optimizer  # noqa: F401
from .optimizers import *  # noqa: F401,F403
from .queue_runner import *  # noqa: F401,F403
from .input import *  # noqa: F401,F403 - string_input_producer & co.
from ..io.example_proto import (BytesList, Example, Feature, FeatureList,  # noqa: F401
                                FeatureLists, Features, FloatList, Int64List, SequenceExample)
from .saver import *  # noqa: F401,F403
from .server_lib import ClusterSpec  # noqa: F401
from .device_setter import replica_device_setter  # noqa: F401
from .training_util import *  # noqa: F401,F403
from .session_run_hook import *  # noqa: F401,F403
from .basic_session_run_hooks import *  # noqa: F401,F403
from .session_manager import SessionManager  # noqa: F401
from .monitored_session import *  # noqa: F401,F403
from .supervisor import LooperThread, Supervisor  # noqa: F401
from .sync_replicas_optimizer import SyncReplicasOptimizer  # noqa: F401
from . import experimental  # noqa: F401 - tf.train.experimental (loss scaling)
from ..summary import FileWriterCache as SummaryWriterCache  # noqa: F401
from ..framework.graph_io import write_graph  # noqa: F401
from ..summary import FileWriter as SummaryWriter, summary_iterator  # noqa: F401


def _distribute(module, what):
    """``tfnb.distribute.<module>``, or an ImportError naming the extra to install."""
    import importlib
    try:
        return importlib.import_module("tfnb.distribute." + module)
    except ModuleNotFoundError as e:
        raise ImportError("%s needs tfnb's distributed runtime, which needs Dask's "
                          "'distributed' package (missing: %s): pip install 'tfnb[distributed]'"
                          % (what, e.name)) from None


def _cluster_master(target, config):
    """Session-target resolver for grpc://, tcp://, tls:// (imports tfnb.distribute lazily)."""
    return _distribute("master", "tf.Session(%r)" % (target,)).connect(target, config)


def __getattr__(name):
    if name in ("Server", "ServerDef"):  # tf.train.Server needs distributed: imported on use
        return getattr(_distribute("server", "tf.train." + name), name)
    raise AttributeError("module 'tfnb.train' has no attribute %r" % name)


def _register_targets():
    from ..runtime.session import register_session_target
    for scheme in ("grpc", "grpc+tls", "tcp", "tls"):
        register_session_target(scheme, _cluster_master)


_register_targets()
