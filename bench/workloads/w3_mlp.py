"""W3: MLP 784-512-512-10 with ReLU, batch 128, softmax xent, mean, SGD 0.1."""
from . import mlp

SIZES, BATCH, LR = [784, 512, 512, 10], 128, 0.1
STEPS, WARMUP, UNIT = 300, 30, "ms"


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    return mlp.build_and_run(tf, SIZES, BATCH, LR, steps, warmup)


def torch_run(steps=STEPS, warmup=WARMUP):
    return mlp.torch_run(SIZES, BATCH, LR, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP):
    return mlp.numpy_run(SIZES, BATCH, LR, steps, warmup)
