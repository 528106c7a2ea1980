"""``tf.quantization``: quantize/dequantize, fake quantization and the quantized kernels
(definitions in tfnb.ops.quantization_ops)."""
from .ops.quantization_ops import *  # noqa: F401,F403
