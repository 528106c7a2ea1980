"""``tf.train.experimental`` (TF 1.15): loss scaling for mixed-precision training."""
from .loss_scale import (DynamicLossScale, FixedLossScale, LossScale,  # noqa: F401
                         MixedPrecisionLossScaleOptimizer, disable_mixed_precision_graph_rewrite,
                         enable_mixed_precision_graph_rewrite)
