"""Data sets in their real formats: MNIST, CIFAR-10 (binary), PTB, text8, translation pairs."""
from . import cifar10, mnist, ptb, text8, translate  # noqa: F401
