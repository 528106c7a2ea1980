"""``from tensorflow.python.lib.io import file_io``: TF1's file functions (tfnb/io/gfile.py)."""
from ....io.gfile import GFile as FileIO  # noqa: F401
from ....io.gfile import (Copy as copy, DeleteRecursively as delete_recursively,  # noqa: F401
                          Exists as file_exists, FileStatistics, Glob as get_matching_files,
                          IsDirectory as is_directory, ListDirectory as list_directory,
                          MakeDirs as recursive_create_dir, MkDir as create_dir,
                          Remove as delete_file, Rename as rename, Stat as stat, Walk as walk)


def read_file_to_string(filename, binary_mode=False):
    """The whole contents of ``filename`` (bytes if ``binary_mode``)."""
    with FileIO(filename, "rb" if binary_mode else "r") as f:
        return f.read()


def write_string_to_file(filename, file_content):
    """Writes ``file_content`` to ``filename`` (replacing it)."""
    with FileIO(filename, "w") as f:
        f.write(file_content)
