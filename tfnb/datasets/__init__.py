"""Data sets in their real formats (MNIST now; CIFAR-10, PTB, text8 follow)."""
from . import mnist  # noqa: F401
