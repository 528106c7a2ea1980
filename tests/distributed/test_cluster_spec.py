"""tf.train.ClusterSpec: inputs, accessors and bad input, with TF1's messages."""
import pytest

import tfnb as tf
from tfnb.train.server_lib import ClusterDef, JobDef

SPEC = {"worker": ["w0:2222", "w1:2222", "w2:2222"], "ps": ["ps0:2222", "ps1:2222"]}


def test_dense_lists():
    c = tf.train.ClusterSpec(SPEC)
    assert c.jobs == ["worker", "ps"]
    assert c.num_tasks("worker") == 3 and c.num_tasks("ps") == 2
    assert c.task_indices("worker") == [0, 1, 2]
    assert c.task_address("ps", 1) == "ps1:2222"
    assert c.job_tasks("worker") == ["w0:2222", "w1:2222", "w2:2222"]
    assert c.as_dict() == SPEC
    assert bool(c) and not bool(tf.train.ClusterSpec({}))


def test_sparse_dict_job():
    c = tf.train.ClusterSpec({"worker": {1: "w1:2222", 3: "w3:2222"}, "ps": ("ps0:2222",)})
    assert c.num_tasks("worker") == 2
    assert c.task_indices("worker") == [1, 3]
    assert c.job_tasks("worker") == [None, "w1:2222", None, "w3:2222"]
    assert c.as_dict() == {"worker": {1: "w1:2222", 3: "w3:2222"}, "ps": ["ps0:2222"]}
    # A dict whose indices happen to be dense comes back as a list, as in TF1.
    dense = tf.train.ClusterSpec({"worker": {"1": "w1:1", 0: "w0:1"}})
    assert dense.as_dict() == {"worker": ["w0:1", "w1:1"]}
    assert tf.train.ClusterSpec({"empty": []}).as_dict() == {"empty": {}}
    assert tf.train.ClusterSpec({"empty": {}}).job_tasks("empty") == []


def test_copy_cluster_def_roundtrip_and_eq():
    c = tf.train.ClusterSpec(SPEC)
    cd = c.as_cluster_def()
    assert isinstance(cd, ClusterDef)
    assert [j.name for j in cd.job] == ["ps", "worker"]  # sorted, as TF sorts the message
    assert cd.job[1].tasks == {0: "w0:2222", 1: "w1:2222", 2: "w2:2222"}
    from_def = tf.train.ClusterSpec(cd)
    copy = tf.train.ClusterSpec(c)
    assert from_def == c and copy == c and c == SPEC
    assert c != tf.train.ClusterSpec({"worker": ["w0:2222"]})
    assert c != {"worker": 3}  # not a valid spec: unequal, no exception
    copy._cluster_spec["ps"][0] = "elsewhere:1"  # copies do not share their dicts
    assert c.task_address("ps", 0) == "ps0:2222"
    assert tf.train.ClusterSpec(ClusterDef([JobDef("local", {0: "localhost:0"})])).as_dict() == {
        "local": ["localhost:0"]}
    with pytest.raises(TypeError):
        hash(c)


def test_bytes_are_text_and_repr():
    c = tf.train.ClusterSpec({b"ps": [b"ps0:1"], "worker": ["w0:1"]})
    assert c.jobs == ["ps", "worker"] and c.task_address("ps", 0) == "ps0:1"
    assert repr(c) == "ClusterSpec({'ps': ['ps0:1'], 'worker': ['w0:1']})"


def test_unknown_job_and_task_messages():
    c = tf.train.ClusterSpec(SPEC)
    for method in (c.num_tasks, c.task_indices, c.job_tasks):
        with pytest.raises(ValueError, match=r"No such job in cluster: 'chief'"):
            method("chief")
    with pytest.raises(ValueError, match=r"No such job in cluster: 'chief'"):
        c.task_address("chief", 0)
    with pytest.raises(ValueError, match=r"No task with index 5 in job 'ps'"):
        c.task_address("ps", 5)


def test_bad_types():
    with pytest.raises(TypeError, match=r"`cluster` must be a dictionary mapping one or more job "
                                        r"names to lists of network addresses"):
        tf.train.ClusterSpec(["ps0:1"])
    with pytest.raises(TypeError, match=r"The tasks for job 'ps' must be a list or a dictionary "
                                        r"from integers to strings\."):
        tf.train.ClusterSpec({"ps": "ps0:1"})
    with pytest.raises(TypeError, match=r"Job name 3 must be bytes or unicode"):
        tf.train.ClusterSpec({3: ["ps0:1"]})
    with pytest.raises(TypeError, match=r"Task address 2222 must be bytes or unicode"):
        tf.train.ClusterSpec({"ps": [2222]})
    with pytest.raises(ValueError):
        tf.train.ClusterSpec({"ps": {"first": "ps0:1"}})


def test_tfnb_checks_duplicates_negative_index_and_job_names():
    with pytest.raises(ValueError, match=r"/job:ps/task:0 and /job:worker/task:1 have the same "
                                         r"address 'host:2222'"):
        tf.train.ClusterSpec({"ps": ["host:2222"], "worker": ["host:2223", "host:2222"]})
    with pytest.raises(ValueError, match=r"/job:worker/task:0 and /job:worker/task:1"):
        tf.train.ClusterSpec({"worker": ["a:1", b"a:1"]})
    # Port 0 ("any free port") is not a fixed address: several tasks may ask for it.
    assert tf.train.ClusterSpec({"a": ["localhost:0"], "b": ["localhost:0"]}).num_tasks("b") == 1
    with pytest.raises(ValueError, match=r"Task index -1 of job 'ps' is negative"):
        tf.train.ClusterSpec({"ps": {-1: "ps0:1"}})
    for bad in ("my/job", "1ps", "", "job:x"):
        with pytest.raises(ValueError, match=r"is not valid in a device string"):
            tf.train.ClusterSpec({bad: ["h:1"]})
