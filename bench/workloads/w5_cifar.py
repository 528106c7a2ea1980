"""W5: CIFAR-10 tutorial CNN. 24×24×3; conv5×5×64+ReLU, maxpool 3×3/2 SAME; conv5×5×64+ReLU, maxpool 3×3/2
SAME; fc 2304→384→192→10 with ReLU; batch 128; sparse softmax xent, mean; SGD 0.1; no LRN."""
from . import cnn

SPEC = dict(input=(24, 24, 3), convs=[(5, 64), (5, 64)], pool=(3, 2), fc=[2304, 384, 192, 10], batch=128,
            sparse=True, optimizer="sgd", lr=0.1)
STEPS, WARMUP, UNIT = 60, 6, "ms"


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    return cnn.build_and_run(tf, SPEC, steps, warmup)


def torch_run(steps=STEPS, warmup=WARMUP):
    return cnn.torch_run(SPEC, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP):
    return cnn.numpy_run(SPEC, steps, warmup)
