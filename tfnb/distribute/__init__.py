"""tfnb's distributed runtime: TF1 clusters whose tasks run graph partitions.

``tf.train.Server`` (:mod:`.server`) serves one task; ``tf.Session(server.target)`` makes the
calling process the master of a step (:mod:`.master`): it places and partitions the graph as
for local devices, sends each task its partition once (:mod:`.partition`), and runs steps by
message -- tasks (:mod:`.task`) push tensors to each other directly. Transport and decoding:
:mod:`.wire` (distributed's comm layer, no pickle). Needs the ``distributed`` extra; nothing
here is imported by ``import tfnb``.

``train(train_op, loss=..., feeds=..., cluster=...)`` (:mod:`.training`) trains a notebook's
graph on a cluster's worker tasks, async or sync, and brings the trained values back.
"""

__all__ = ["Server", "TaskService", "DaskCluster", "train", "TrainResult"]


def __getattr__(name):
    if name in ("Server", "ServerDef"):
        from . import server
        return getattr(server, name)
    if name == "TaskService":
        from .task import TaskService
        return TaskService
    if name == "DaskCluster":
        from .dask_cluster import DaskCluster
        return DaskCluster
    if name in ("train", "TrainResult"):
        from . import training
        return getattr(training, name)
    raise AttributeError("module 'tfnb.distribute' has no attribute %r" % name)
