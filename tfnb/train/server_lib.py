"""``tf.train.ClusterSpec``: the jobs and tasks of a distributed program, and their addresses.

A cluster is a set of *jobs* (``"ps"``, ``"worker"``...), each a set of *tasks* numbered from 0,
each task one process listening at a network address. Device strings name a task as
``/job:ps/task:0``; the cluster spec says where that task lives. This module is pure Python
(no Dask import): ``tf.train.Server`` and ``tfnb.distribute.DaskCluster`` build on it.

``as_cluster_def`` returns a :class:`ClusterDef`, a plain-data stand-in for TF's
``tensorflow.ClusterDef`` protocol buffer with the same field names (``job``, ``name``,
``tasks``), so code that walks ``cluster_def.job`` keeps working.
"""
import re

__all__ = ["ClusterSpec", "ClusterDef", "JobDef"]

# TF's device-name parser accepts a job name that starts with a letter and goes on with
# letters, digits and underscores; anything else could not appear in "/job:NAME".
_JOB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class JobDef:
    """One job of a :class:`ClusterDef`: its ``name`` and ``tasks`` (task index -> address)."""

    __slots__ = ("name", "tasks")

    def __init__(self, name="", tasks=None):
        self.name = name
        self.tasks = dict(tasks or {})

    def __eq__(self, other):
        return isinstance(other, JobDef) and (self.name, self.tasks) == (other.name, other.tasks)

    __hash__ = None

    def __repr__(self):
        return "JobDef(name=%r, tasks=%r)" % (self.name, self.tasks)


class ClusterDef:
    """Plain-data equivalent of TF's ``ClusterDef`` message: ``job`` is a list of :class:`JobDef`
    sorted by name (as TF sorts them to make the message deterministic)."""

    __slots__ = ("job",)

    def __init__(self, job=None):
        self.job = list(job or [])

    def __eq__(self, other):
        return isinstance(other, ClusterDef) and self.job == other.job

    __hash__ = None

    def __repr__(self):
        return "ClusterDef(job=%r)" % (self.job,)


def _as_text(value, what):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise TypeError("%s %r must be bytes or unicode" % (what, value))


def _address_port(address):
    """The port of ``host:port`` (None when there is none), for the duplicate check."""
    host, sep, port = address.rpartition(":")
    return port if sep and host else None


class ClusterSpec:
    """A cluster as a set of tasks, organized into jobs, each task with its network address.

    Each job is a list of addresses (task ``i`` is the ``i``-th) or a sparse ``{index: address}``
    dict, which lets a task be configured without knowing every other task of its job.

    Compared with TF1 this also rejects, with ``ValueError``: two tasks at the same address
    (TF1 accepts the spec and then fails or misroutes when the servers start; addresses with
    port 0, "pick a free port", are exempt), negative task indices, and job names that a device
    string cannot hold (TF1 accepts them in the spec; its servers reject them later). Job names
    and addresses given as bytes are stored as ``str``.

    Example:
        >>> cluster = ClusterSpec({"ps": ["ps0:2222"], "worker": {1: "worker1:2222"}})
        >>> cluster.num_tasks("worker"), cluster.task_address("worker", 1)
        (1, 'worker1:2222')
        >>> cluster.as_dict()
        {'ps': ['ps0:2222'], 'worker': {1: 'worker1:2222'}}

    Args:
        cluster: a dict mapping job names to lists of addresses or to dicts from task indices
            to addresses; another ``ClusterSpec``; or a :class:`ClusterDef`.

    Raises:
        TypeError: ``cluster`` is none of those, a job's tasks are neither a list nor a dict,
            or a job name or address is not a string.
        ValueError: a task index is not an integer >= 0, a job name is not valid in a device
            string, or two tasks share an address.
    """

    def __init__(self, cluster):
        if isinstance(cluster, ClusterSpec):
            spec = {job: dict(tasks) for job, tasks in cluster._cluster_spec.items()}
        elif isinstance(cluster, ClusterDef):
            spec = {job_def.name: dict(job_def.tasks) for job_def in cluster.job}
        elif isinstance(cluster, dict):
            spec = {}
            for job_name, tasks in cluster.items():
                if isinstance(tasks, (list, tuple)):
                    spec[job_name] = dict(enumerate(tasks))
                elif isinstance(tasks, dict):
                    spec[job_name] = {int(i): task for i, task in tasks.items()}
                else:
                    raise TypeError("The tasks for job %r must be a list or a dictionary from "
                                    "integers to strings." % (job_name,))
        else:
            raise TypeError("`cluster` must be a dictionary mapping one or more job names to "
                            "lists of network addresses, or a `ClusterDef` protocol buffer")
        self._cluster_spec = self._checked(spec)

    @staticmethod
    def _checked(spec):
        """Validates ``{job: {index: address}}`` and returns it with ``str`` names/addresses."""
        out = {}
        owner = {}  # address -> (job, index): the duplicate-address check
        for job_name, tasks in spec.items():
            job = _as_text(job_name, "Job name")
            if not _JOB_NAME.match(job):
                raise ValueError("Job name %r is not valid in a device string: it must start "
                                 "with a letter and hold only letters, digits and '_'" % job)
            out[job] = {}
            for index in sorted(tasks):
                if index < 0:
                    raise ValueError("Task index %d of job %r is negative" % (index, job))
                address = _as_text(tasks[index], "Task address")
                if _address_port(address) != "0":
                    if address in owner:
                        other_job, other_index = owner[address]
                        raise ValueError(
                            "Tasks /job:%s/task:%d and /job:%s/task:%d have the same address %r: "
                            "each task needs its own address" % (other_job, other_index, job,
                                                                  index, address))
                    owner[address] = (job, index)
                out[job][index] = address
        return out

    def __bool__(self):
        return bool(self._cluster_spec)

    def __eq__(self, other):
        if isinstance(other, ClusterSpec):
            return self._cluster_spec == other._cluster_spec
        if isinstance(other, dict):
            try:
                return self._cluster_spec == ClusterSpec(other)._cluster_spec
            except (TypeError, ValueError):
                return False
        return NotImplemented

    __hash__ = None  # mutable-looking value type, unhashable as in TF1

    def __repr__(self):
        items = self.as_dict()
        return "ClusterSpec({%s})" % ", ".join("%r: %r" % (k, items[k]) for k in sorted(items))

    def as_dict(self):
        """Job name -> list of addresses when its indices are 0..n-1, else {index: address}."""
        out = {}
        for job, tasks in self._cluster_spec.items():
            if tasks and max(tasks) + 1 == len(tasks):
                out[job] = [tasks[i] for i in range(len(tasks))]
            else:
                out[job] = dict(tasks)
        return out

    def as_cluster_def(self):
        """A :class:`ClusterDef` (jobs sorted by name) describing this cluster."""
        return ClusterDef([JobDef(job, self._cluster_spec[job])
                           for job in sorted(self._cluster_spec)])

    @property
    def jobs(self):
        """The job names, in the order they were given."""
        return list(self._cluster_spec)

    def _job(self, job_name):
        try:
            return self._cluster_spec[job_name]
        except (KeyError, TypeError):
            raise ValueError("No such job in cluster: %r" % (job_name,)) from None

    def num_tasks(self, job_name):
        """The number of tasks defined in ``job_name`` (ValueError for an unknown job)."""
        return len(self._job(job_name))

    def task_indices(self, job_name):
        """The sorted task indices defined in ``job_name``."""
        return sorted(self._job(job_name))

    def task_address(self, job_name, task_index):
        """The address of task ``task_index`` of ``job_name`` (ValueError if there is none)."""
        job = self._job(job_name)
        try:
            return job[task_index]
        except (KeyError, TypeError):
            raise ValueError("No task with index %r in job %r" % (task_index, job_name)) from None

    def job_tasks(self, job_name):
        """The addresses of ``job_name`` as a list indexed by task (None where a sparse job
        has no task); use :meth:`num_tasks` for the number of tasks."""
        job = self._job(job_name)
        out = [None] * (max(job) + 1 if job else 0)
        for i, address in job.items():
            out[i] = address
        return out
