"""W2: softmax regression ("MNIST for beginners"): x[100,784] @ W[784,10] + b, softmax xent, mean, SGD 0.5."""
from . import mlp

SIZES, BATCH, LR = [784, 10], 100, 0.5
STEPS, WARMUP, UNIT = 2000, 200, "ms"


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    return mlp.build_and_run(tf, SIZES, BATCH, LR, steps, warmup)


def torch_run(steps=STEPS, warmup=WARMUP):
    return mlp.torch_run(SIZES, BATCH, LR, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP):
    return mlp.numpy_run(SIZES, BATCH, LR, steps, warmup)
