"""W4: Deep MNIST CNN. 28×28×1; conv5×5×32 SAME+ReLU, maxpool 2×2/2; conv5×5×64 SAME+ReLU, maxpool 2×2/2;
fc 3136→1024 ReLU; fc 1024→10; batch 50; softmax xent (one-hot), mean; Adam 1e-4; no dropout."""
from . import cnn

SPEC = dict(input=(28, 28, 1), convs=[(5, 32), (5, 64)], pool=(2, 2), fc=[3136, 1024, 10], batch=50,
            sparse=False, optimizer="adam", lr=1e-4)
STEPS, WARMUP, UNIT = 100, 10, "ms"


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    return cnn.build_and_run(tf, SPEC, steps, warmup)


def torch_run(steps=STEPS, warmup=WARMUP):
    return cnn.torch_run(SPEC, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP):
    return cnn.numpy_run(SPEC, steps, warmup)
