"""Helpers of the distributed tests: free loopback ports, in-process task servers on 127.0.0.1.

A module of its own (not conftest.py): several test folders have a conftest, and
``from conftest import ...`` would find whichever one was imported first."""
import socket


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


class LocalCluster:
    """ps + workers as tf.train.Server objects in this process; stops them all."""

    def __init__(self, ps=1, worker=2, extra=None):
        import tfnb as tf
        jobs = {"ps": ps, "worker": worker}
        jobs.update(extra or {})
        ports = iter(free_ports(sum(jobs.values())))
        self.spec = {job: ["127.0.0.1:%d" % next(ports) for _ in range(n)]
                     for job, n in jobs.items()}
        self.cluster = tf.train.ClusterSpec(self.spec)
        self.servers = {}
        for job, addrs in self.spec.items():
            for i in range(len(addrs)):
                self.servers[(job, i)] = tf.train.Server(self.cluster, job_name=job, task_index=i)

    def target(self, job="worker", task=0):
        return self.servers[(job, task)].target

    def stop(self):
        for s in self.servers.values():
            s.stop()
