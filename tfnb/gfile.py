"""``tf.gfile``: files and directories with TF1's names and typed errors (tfnb/io/gfile.py)."""
from .io.gfile import (Copy, DeleteRecursively, Exists, FastGFile, GFile, Glob,  # noqa: F401
                       IsDirectory, ListDirectory, MakeDirs, MkDir, Open, Remove, Rename, Stat,
                       Walk)
