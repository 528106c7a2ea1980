"""``tf.logging``: TF 1.x's logging functions over Python's ``logging`` (logger ``"tfnb"``).

Levels are Python's (``DEBUG=10 ... FATAL=50``) as in TF 1.x. Like TF's ``"tensorflow"``
logger, the ``"tfnb"`` logger has no level of its own (the effective level is the root's,
WARNING by default) until :func:`set_verbosity`, and gets a stderr handler when the root
logger has none. ``fatal`` logs at FATAL and does not exit (TF 1.x's behaviour).

Example:
    >>> tf.logging.set_verbosity(tf.logging.INFO)
    >>> tf.logging.info("step %d: loss %.3f", 10, 0.25)
"""
import logging as _logging
import os as _os
import sys as _sys
import threading as _threading

__all__ = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "get_logger", "set_verbosity",
           "get_verbosity", "debug", "info", "warn", "warning", "error", "fatal", "log",
           "log_if", "log_every_n", "log_first_n", "vlog", "flush"]

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_logger = None
_lock = _threading.Lock()
_counts = {}  # (file, line) of a log_every_n / log_first_n call -> calls so far


def get_logger():
    """The ``"tfnb"`` logger, with a stderr handler when the root logger has none."""
    global _logger
    if _logger is not None:
        return _logger
    with _lock:
        if _logger is None:
            logger = _logging.getLogger("tfnb")
            if not _logging.getLogger().handlers and not logger.handlers:
                handler = _logging.StreamHandler(_sys.stderr)
                handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT, None))
                logger.addHandler(handler)
            _logger = logger
    return _logger


def set_verbosity(v):
    """Logs messages at level ``v`` and above (``tf.logging.INFO`` shows training progress)."""
    get_logger().setLevel(v)


def get_verbosity():
    """The effective level of the ``"tfnb"`` logger."""
    return get_logger().getEffectiveLevel()


def log(level, msg, *args, **kwargs):
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs):
    get_logger().debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs):
    get_logger().info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs):
    get_logger().warning(msg, *args, **kwargs)


warn = warning


def error(msg, *args, **kwargs):
    get_logger().error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs):
    get_logger().fatal(msg, *args, **kwargs)


def vlog(level, msg, *args, **kwargs):
    """Logs at ``level`` (TF 1.x's vlog is ``log`` under another name)."""
    get_logger().log(level, msg, *args, **kwargs)


def log_if(level, msg, condition, *args):
    """Logs only when ``condition`` is true."""
    if condition:
        vlog(level, msg, *args)


def _call_site():
    """(file, line) of the user's call to log_every_n / log_first_n."""
    frame = _sys._getframe(1)
    here = _os.path.normcase(__file__)
    while frame is not None and _os.path.normcase(frame.f_code.co_filename) == here:
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0)


def _next_count(site):
    with _lock:
        n = _counts.get(site, 0)
        _counts[site] = n + 1
    return n


def log_every_n(level, msg, n, *args):
    """Logs on the 1st, (n+1)th, (2n+1)th ... call from the same line of code."""
    count = _next_count(_call_site())
    log_if(level, msg, count % n == 0, *args)


def log_first_n(level, msg, n, *args):
    """Logs only the first ``n`` calls from the same line of code."""
    count = _next_count(_call_site())
    log_if(level, msg, count < n, *args)


def flush():
    for h in get_logger().handlers:
        h.flush()
