"""``tf.gfile`` / ``tf.io.gfile``: files and directories with TensorFlow's names and errors.

Local paths only (a ``file://`` prefix is accepted); another scheme (``gs://``, ``hdfs://``)
raises ``UnimplementedError``. Failures raise the typed ``tf.errors`` TensorFlow raises --
``NotFoundError`` for a missing file or directory, ``AlreadyExistsError``,
``PermissionDeniedError``, ``FailedPreconditionError`` (e.g. a directory where a file is
expected) -- each naming the path.

TF1 spells the functions ``Exists``, ``MakeDirs``...; ``tf.io.gfile`` spells them
``exists``, ``makedirs``...: both are defined here.

Example:
    >>> with tf.gfile.GFile("/tmp/x.txt", "w") as f:
    ...     f.write("hello\\n")
    >>> tf.gfile.Exists("/tmp/x.txt")
    True
"""
import collections
import errno
import glob as _glob
import os
import shutil

from ..framework import errors

__all__ = ["GFile", "Open", "FastGFile", "Exists", "MakeDirs", "MkDir", "DeleteRecursively",
           "Glob", "ListDirectory", "IsDirectory", "Remove", "Rename", "Copy", "Stat", "Walk",
           "FileStatistics", "exists", "makedirs", "mkdir", "rmtree", "glob", "listdir",
           "isdir", "remove", "rename", "copy", "stat", "walk"]


def local_path(path):
    """``path`` as a local file system path (str); raises for other file systems."""
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    path = os.fspath(path)
    if "://" in path:
        scheme, rest = path.split("://", 1)
        if scheme == "file":
            return rest
        raise errors.UnimplementedError(
            None, None, "File system scheme '%s' not implemented (file: %s); tfnb reads local "
            "files only" % (scheme, path))
    return path


def _raise_os_error(e, path, what):
    """The tf.errors equivalent of OSError ``e`` while doing ``what`` with ``path``."""
    code = e.errno
    if isinstance(e, FileNotFoundError) or code == errno.ENOENT:
        cls = errors.NotFoundError
        detail = "No such file or directory"
    elif isinstance(e, FileExistsError) or code == errno.EEXIST:
        cls, detail = errors.AlreadyExistsError, "File exists"
    elif isinstance(e, PermissionError) or code in (errno.EACCES, errno.EPERM):
        cls, detail = errors.PermissionDeniedError, "Permission denied"
    elif isinstance(e, (IsADirectoryError, NotADirectoryError)) or code in (errno.EISDIR,
                                                                          errno.ENOTDIR):
        cls, detail = errors.FailedPreconditionError, e.strerror or str(e)
    else:
        cls, detail = errors.UnknownError, e.strerror or str(e)
    raise cls(None, None, "%s; %s (%s)" % (path, detail, what)) from None


class GFile:
    """A file, opened lazily as TensorFlow's ``GFile`` (errors come at the first read/write).

    Args:
        name: the path.
        mode: ``"r"``, ``"w"``, ``"a"`` with ``"b"`` for bytes (text is UTF-8).
    """

    def __init__(self, name, mode="r"):
        if mode not in ("r", "rb", "w", "wb", "a", "ab", "r+", "rb+", "w+", "wb+", "a+",
                        "ab+"):
            raise errors.InvalidArgumentError(None, None, "mode is not 'r' or 'w' or 'a' (with "
                                              "'b' or '+'): %r" % (mode,))
        self._name = name
        self._path = local_path(name)
        self._mode = mode
        self._f = None

    @property
    def name(self):
        return self._name

    @property
    def mode(self):
        return self._mode

    def _file(self):
        if self._f is None:
            try:
                binary = "b" in self._mode
                self._f = open(self._path, self._mode, **({} if binary else
                                                          {"encoding": "utf-8"}))
            except OSError as e:
                _raise_os_error(e, self._name, "opening it with mode %r" % self._mode)
        return self._f

    def _call(self, what, *args):
        f = self._file()
        try:
            return getattr(f, what)(*args)
        except OSError as e:
            _raise_os_error(e, self._name, what)

    def read(self, n=-1):
        """Up to ``n`` bytes/characters (all that is left if ``n`` is -1)."""
        return self._call("read", n)

    def readline(self):
        return self._call("readline")

    def readlines(self):
        return self._call("readlines")

    def write(self, file_content):
        f = self._file()
        if "b" in self._mode and isinstance(file_content, str):
            file_content = file_content.encode("utf-8")
        elif "b" not in self._mode and isinstance(file_content, bytes):
            file_content = file_content.decode("utf-8")
        try:
            f.write(file_content)
        except OSError as e:
            _raise_os_error(e, self._name, "write")

    def seek(self, offset=None, whence=0, position=None):
        """Moves to ``offset`` (TF1 also accepts ``position=``)."""
        if position is not None:
            offset = position
        return self._call("seek", offset, whence)

    def tell(self):
        return self._call("tell")

    def size(self):
        return Stat(self._name).length

    def flush(self):
        if self._f is not None:
            self._call("flush")

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<GFile %r mode %r>" % (self._name, self._mode)


Open = GFile
FastGFile = GFile


def Exists(filename):  # noqa: N802 - TF1 name
    """Whether ``filename`` (file or directory) exists."""
    return os.path.exists(local_path(filename))


def IsDirectory(dirname):  # noqa: N802
    return os.path.isdir(local_path(dirname))


def MakeDirs(dirname):  # noqa: N802
    """Creates ``dirname`` and its missing parents (nothing if it exists as a directory)."""
    path = local_path(dirname)
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise errors.FailedPreconditionError(
            None, None, "%s; exists and is not a directory (MakeDirs)" % dirname) from None
    except OSError as e:
        _raise_os_error(e, dirname, "MakeDirs")


def MkDir(dirname):  # noqa: N802
    """Creates ``dirname``; its parent must exist and it must not."""
    try:
        os.mkdir(local_path(dirname))
    except OSError as e:
        _raise_os_error(e, dirname, "MkDir")


def DeleteRecursively(dirname):  # noqa: N802
    """Deletes ``dirname`` and everything under it (a file is deleted too)."""
    path = local_path(dirname)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except OSError as e:
        _raise_os_error(e, dirname, "DeleteRecursively")


def Remove(filename):  # noqa: N802
    """Deletes the file ``filename``."""
    try:
        os.remove(local_path(filename))
    except OSError as e:
        _raise_os_error(e, filename, "Remove")


def Glob(filename):  # noqa: N802
    """The paths matching the pattern(s) ``filename`` (a string or a list of them), sorted."""
    patterns = [filename] if isinstance(filename, (str, bytes, os.PathLike)) else list(filename)
    out = []
    for p in patterns:
        out.extend(_glob.glob(local_path(p)))
    return sorted(set(out))


def ListDirectory(dirname):  # noqa: N802
    """The names (not paths) of the entries of ``dirname``, unsorted as TF."""
    path = local_path(dirname)
    if not os.path.isdir(path):
        raise errors.NotFoundError(None, None, "Could not find directory %s" % dirname)
    try:
        return os.listdir(path)
    except OSError as e:
        _raise_os_error(e, dirname, "ListDirectory")


def Rename(oldname, newname, overwrite=False):  # noqa: N802
    """Renames ``oldname`` to ``newname`` (AlreadyExistsError unless ``overwrite``)."""
    new = local_path(newname)
    if not overwrite and os.path.exists(new):
        raise errors.AlreadyExistsError(None, None, "file already exists: %s (Rename)" % newname)
    try:
        os.replace(local_path(oldname), new)
    except OSError as e:
        _raise_os_error(e, oldname, "Rename to %s" % newname)


def Copy(oldpath, newpath, overwrite=False):  # noqa: N802
    """Copies the file ``oldpath`` to ``newpath`` (AlreadyExistsError unless ``overwrite``)."""
    new = local_path(newpath)
    if not overwrite and os.path.exists(new):
        raise errors.AlreadyExistsError(None, None, "file already exists: %s (Copy)" % newpath)
    try:
        shutil.copyfile(local_path(oldpath), new)
    except OSError as e:
        _raise_os_error(e, oldpath, "Copy to %s" % newpath)


FileStatistics = collections.namedtuple("FileStatistics",
                                        ["length", "mtime_nsec", "is_directory"])


def Stat(filename):  # noqa: N802
    """``FileStatistics(length, mtime_nsec, is_directory)`` of ``filename``."""
    try:
        s = os.stat(local_path(filename))
    except OSError as e:
        _raise_os_error(e, filename, "Stat")
    return FileStatistics(s.st_size, s.st_mtime_ns, os.path.isdir(local_path(filename)))


def Walk(top, in_order=True):  # noqa: N802
    """Yields ``(dirname, subdirectory names, file names)`` for ``top`` and every directory
    under it (parents first when ``in_order``, else children first); nothing if ``top`` is
    not a directory."""
    path = local_path(top)
    if not os.path.isdir(path):
        return
    for entry in os.walk(path, topdown=in_order):
        yield entry[0], sorted(entry[1]), sorted(entry[2])


# tf.io.gfile spellings
exists = Exists
isdir = IsDirectory
makedirs = MakeDirs
mkdir = MkDir
rmtree = DeleteRecursively
remove = Remove
glob = Glob
listdir = ListDirectory
rename = Rename
stat = Stat
walk = Walk


def copy(src, dst, overwrite=False):
    Copy(src, dst, overwrite)
