"""tf.logging over Python logging: levels, verbosity, log_every_n / log_first_n per call site."""
import logging

import pytest

import tfnb as tf


@pytest.fixture
def records():
    logger = tf.logging.get_logger()
    got = []

    class Keep(logging.Handler):
        def emit(self, record):
            got.append((record.levelno, record.getMessage()))
    h = Keep()
    old = logger.level
    logger.addHandler(h)
    yield got
    logger.removeHandler(h)
    logger.setLevel(old)


def test_levels_are_pythons():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR,
            tf.logging.FATAL) == (10, 20, 30, 40, 50)
    assert tf.logging.get_logger().name == "tfnb"


def test_verbosity_filters(records):
    tf.logging.set_verbosity(tf.logging.WARN)
    assert tf.logging.get_verbosity() == tf.logging.WARN
    tf.logging.info("hidden %d", 1)
    tf.logging.warn("shown %d", 2)
    tf.logging.set_verbosity(tf.logging.DEBUG)
    tf.logging.debug("d")
    tf.logging.error("e")
    tf.logging.fatal("f")  # logs, does not exit (TF 1.x)
    tf.logging.log(tf.logging.INFO, "l %s", "x")
    tf.logging.vlog(tf.logging.INFO, "v")
    assert records == [(30, "shown 2"), (10, "d"), (40, "e"), (50, "f"), (20, "l x"), (20, "v")]


def test_every_n_and_first_n_count_per_call_site(records):
    tf.logging.set_verbosity(tf.logging.INFO)
    for i in range(7):
        tf.logging.log_every_n(tf.logging.INFO, "every %d", 3, i)
        tf.logging.log_first_n(tf.logging.INFO, "first %d", 2, i)
    assert [m for _, m in records] == ["every 0", "first 0", "first 1", "every 3", "every 6"]
