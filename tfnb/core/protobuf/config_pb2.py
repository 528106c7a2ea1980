"""``from tensorflow.core.protobuf import config_pb2`` (re-exports only)."""
from ...runtime.passes.config import GraphOptions, OptimizerOptions  # noqa: F401
from ...runtime.session import ConfigProto, RunMetadata, RunOptions  # noqa: F401
