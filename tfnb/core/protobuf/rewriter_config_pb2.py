"""``from tensorflow.core.protobuf import rewriter_config_pb2`` (re-export only)."""
from ...runtime.passes.config import RewriterConfig  # noqa: F401
