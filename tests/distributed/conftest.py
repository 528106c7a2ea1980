"""Fixtures for the distributed runtime tests: in-process task servers on 127.0.0.1."""
import pytest

from cluster_helpers import LocalCluster


@pytest.fixture
def cluster():
    c = LocalCluster(ps=1, worker=2)
    yield c
    c.stop()
