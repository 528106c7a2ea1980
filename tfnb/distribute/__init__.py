"""``tfnb.distribute``: tfnb's distributed runtime on Dask (needs the ``distributed`` extra).

Importing this package does not import Dask; ``DaskCluster`` is loaded on first use.
"""


def __getattr__(name):
    if name == "DaskCluster":
        from .dask_cluster import DaskCluster
        return DaskCluster
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
