"""tf.train.replica_device_setter, the ps strategies and DeviceSpec (no servers needed)."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.framework.device_spec import DeviceSpec, merge_device
from tfnb.train.device_setter import STANDARD_PS_OPS

CLUSTER = {"ps": ["ps0:2222", "ps1:2222"], "worker": ["w0:2222", "w1:2222"]}


def _var(shape, name):
    return tf.Variable(np.zeros(shape, np.float32), name=name)


# --- DeviceSpec -------------------------------------------------------------------------------
def test_device_spec_parse_full_and_shorthand():
    s = DeviceSpec.from_string("/job:ps/replica:0/task:1/device:CPU:0")
    assert (s.job, s.replica, s.task, s.device_type, s.device_index) == ("ps", 0, 1, "CPU", 0)
    assert s.to_string() == "/job:ps/replica:0/task:1/device:CPU:0"
    assert str(DeviceSpec.from_string("/cpu:0")) == "/device:CPU:0"
    assert str(DeviceSpec.from_string("/GPU:1")) == "/device:GPU:1"
    assert str(DeviceSpec.from_string("/gpu")) == "/device:GPU:*"
    assert str(DeviceSpec.from_string("/device:gpu:*")) == "/device:GPU:*"
    assert str(DeviceSpec.from_string("/job:worker/task:1/gpu:0")) == \
        "/job:worker/task:1/device:GPU:0"
    assert str(DeviceSpec.from_string("/device:XLA_CPU:0")) == "/device:XLA_CPU:0"  # kept as TF1
    assert str(DeviceSpec.from_string("//job:ps//task:2/")) == "/job:ps/task:2"
    assert DeviceSpec.from_string(None).to_string() == ""
    assert DeviceSpec.from_string(b"/task:3").task == 3


@pytest.mark.parametrize("bad, message", [
    ("/job:ps:1", r"Unknown attribute: 'job' in '/job:ps:1'"),
    ("/Job:ps", r"Unknown attribute: 'Job' in '/Job:ps'"),
    ("/nonsense:x:y:z", r"Unknown attribute: 'nonsense'"),
    ("/device:GPU", r"Unknown attribute: 'device'"),
    ("/cpu:0/gpu:0", r"Cannot specify multiple device types: /cpu:0/gpu:0"),
    ("/device:CPU:0/gpu:1", r"Cannot specify multiple device types"),
    ("/task:x", r"Malformed task 'x'.*in device '/task:x'"),
    ("/task:-1", r"Malformed task '-1'"),
    ("/replica:0.5", r"Malformed replica"),
    ("/gpu:x", r"Malformed device index 'x'"),
    ("/job:", r"Malformed job name ''"),
    ("/job:1ps", r"Malformed job name '1ps'"),
])
def test_device_spec_malformed_strings(bad, message):
    with pytest.raises(ValueError, match=message):
        DeviceSpec.from_string(bad)


def test_device_spec_fields_merge_and_equality():
    s = DeviceSpec(job="ps", task="1")  # setters convert as TF1's DeviceSpecV1
    assert s.task == 1 and str(s) == "/job:ps/task:1"
    s.device_type = "cpu"
    assert s.device_type == "CPU"
    with pytest.raises(ValueError, match="Malformed task"):
        s.task = -2
    outer = DeviceSpec.from_string("/job:worker/replica:0/task:1/cpu:0")
    assert outer.merge_from(DeviceSpec.from_string("/task:3/gpu:1")) is None  # mutates, as TF1
    assert str(outer) == "/job:worker/replica:0/task:3/device:GPU:1"
    base = DeviceSpec.from_string("/job:ps")
    merged = base.make_merged_spec(DeviceSpec(task=2))
    assert str(merged) == "/job:ps/task:2" and str(base) == "/job:ps"  # a new spec
    assert str(base.replace(job=None, device_type="GPU", device_index=0)) == "/device:GPU:0"
    reparsed = base.parse_from_string("/task:4")  # clears the fields the string lacks
    assert reparsed is base and str(base) == "/task:4"
    assert DeviceSpec.from_string("/cpu:0") == DeviceSpec.from_string("/device:CPU:0")
    assert len({DeviceSpec.from_string("/cpu:0"), DeviceSpec(device_type="CPU",
                                                                device_index=0)}) == 1
    assert merge_device("/job:worker/task:1", "/task:3") == "/job:worker/task:3"
    assert merge_device("", "/gpu:0") == "/device:GPU:0"


# --- replica_device_setter: placement in a graph ----------------------------------------------
def test_tf_device_calls_the_function_with_the_operation():
    seen = []

    def fn(op):
        seen.append((type(op).__name__, op.type, op.name))
        return "/job:worker/task:1" if op.type == "Const" else ""

    with tf.device(fn):
        c = tf.constant(1.0, name="c")
        d = tf.identity(c, name="d")
    assert seen == [("Operation", "Const", "c"), ("Operation", "Identity", "d")]
    assert c.device == "/job:worker/task:1" and d.device == ""


def test_round_robin_variables_on_ps_compute_on_worker():
    with tf.device(tf.train.replica_device_setter(cluster=CLUSTER)):
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        vs = [_var((4, 4), "v%d" % i) for i in range(3)]
        y = tf.matmul(tf.matmul(x, vs[0]), vs[1]) + vs[2][0]
    assert [v.device for v in vs] == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]
    assert x.device == "/job:worker" and y.device == "/job:worker"
    # ps_tasks without a cluster, ClusterSpec and ClusterDef inputs, and worker_device.
    for setter in (tf.train.replica_device_setter(ps_tasks=3),
                   tf.train.replica_device_setter(
                       cluster=tf.train.ClusterSpec({"ps": ["a:1", "b:1", "c:1"]})),
                   tf.train.replica_device_setter(
                       cluster=tf.train.ClusterSpec({"ps": ["a:1", "b:1", "c:1"]}).as_cluster_def(),
                       worker_device="/job:worker/task:1/cpu:0")):
        with tf.Graph().as_default(), tf.device(setter):
            got = [_var((2,), "u%d" % i).device for i in range(4)]
            z = tf.constant(1.0)
        assert got == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:2", "/job:ps/task:0"]
        assert z.device in ("/job:worker", "/job:worker/task:1/device:CPU:0")


def test_training_graph_placement_single_ps():
    cluster = tf.train.ClusterSpec({"ps": ["ps0:1"], "worker": ["w0:1", "w1:1"]})
    with tf.device(tf.train.replica_device_setter(
            cluster=cluster, worker_device="/job:worker/task:1")):
        x = tf.placeholder(tf.float32, [None, 4])
        y = tf.placeholder(tf.float32, [None, 3])
        w = _var((4, 3), "w")
        b = _var((3,), "b")
        step = tf.train.get_or_create_global_step()
        logits = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y,
                                                                         logits=logits))
        opt = tf.train.MomentumOptimizer(0.1, 0.9)
        train = opt.minimize(loss, global_step=step)
    assert w.device == b.device == step.device == "/job:ps/task:0"
    assert [opt.get_slot(v, "momentum").device for v in (w, b)] == ["/job:ps/task:0"] * 2
    assert logits.device == loss.device == "/job:worker/task:1"
    # As TF1: the train op is the global step's increment, colocated with the step.
    assert train.device == "/job:ps/task:0" and train.type == "AssignAddVariableOp"
    handles = [op for op in tf.get_default_graph().get_operations() if op.type == "VarHandleOp"]
    assert len(handles) == 5 and all(op.device == "/job:ps/task:0" for op in handles)


def test_slots_follow_their_variable_across_ps_tasks():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        x = tf.placeholder(tf.float32, [None, 4])
        w = _var((4, 3), "w")
        b = _var((3,), "b")
        step = tf.train.get_or_create_global_step()
        loss = tf.reduce_sum(tf.matmul(x, w) + b)
        opt = tf.train.AdamOptimizer(0.1)
        opt.minimize(loss, global_step=step)
    assert (w.device, b.device, step.device) == ("/job:ps/task:0", "/job:ps/task:1",
                                                 "/job:ps/task:0")
    for v in (w, b):
        assert opt.get_slot(v, "m").device == v.device
        assert opt.get_slot(v, "v").device == v.device



def _train_on(target, setter, make_optimizer, steps=4):
    """(loss per step, final variables, slots and non-slot variables, placement rows)."""
    rng = np.random.RandomState(7)
    x_np = rng.randn(8, 4).astype(np.float32)
    y_np = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 8)]
    with tf.Graph().as_default(), tf.device(setter):
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        y = tf.placeholder(tf.float32, [None, 3], name="y")
        init = np.random.RandomState(3)
        w1 = tf.Variable(init.randn(4, 8).astype(np.float32), name="w1")
        b1 = tf.Variable(np.zeros(8, np.float32), name="b1")
        w2 = tf.Variable(init.randn(8, 3).astype(np.float32), name="w2")
        step = tf.train.get_or_create_global_step()
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        opt = make_optimizer()
        train = opt.minimize(loss, global_step=step)
        state = [w1, b1, w2, step] + [opt.get_slot(v, s) for v in (w1, b1, w2)
                                      for s in opt.get_slot_names()]
        state += list(getattr(opt, "_non_slot_variables", list)())
        feeds = {x: x_np, y: y_np}
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([train, loss], feeds)[1] for _ in range(steps)]
            placement = sess.placement(train, feeds)
            return losses, sess.run(state), placement


@pytest.mark.parametrize("make_optimizer", [lambda: tf.train.AdamOptimizer(0.05),
                                            lambda: tf.train.MomentumOptimizer(0.1, 0.9)],
                         ids=["Adam", "Momentum"])
def test_training_on_two_ps_tasks_equals_one_process(make_optimizer):
    from cluster_helpers import LocalCluster
    c = LocalCluster(ps=2, worker=1)
    try:
        setter = tf.train.replica_device_setter(cluster=c.cluster)
        losses, values, placement = _train_on(c.target(), setter, make_optimizer)
    finally:
        c.stop()
    want_losses, want_values, _ = _train_on("", None, make_optimizer)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-6, atol=1e-7)
    assert len(values) == len(want_values)
    for got, want in zip(values, want_values):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    rows = {row["op"]: row for row in placement}
    assert rows["w1"]["assigned"].startswith("/job:ps/replica:0/task:0")
    assert rows["b1"]["assigned"].startswith("/job:ps/replica:0/task:1")
    checked = 0
    for name, row in rows.items():  # slots, updates and their constants: with their variable
        var = next((v for v in ("w1", "b1", "w2") if v in name.split("/")[0] or
                    "update_" + v in name), None)
        if var and (row["type"] in ("VarHandleOp", "Const") or
                    row["type"].startswith("ResourceApply")):
            assert row["assigned"] == rows[var]["assigned"], (name, row["assigned"])
            checked += 1
    assert checked >= 9

def test_inner_device_scopes_merge_with_the_setter():
    setter = tf.train.replica_device_setter(ps_tasks=2, ps_device="/job:ps/device:CPU:0",
                                            worker_device="/job:worker/task:0")
    with tf.device(setter):
        with tf.device("/gpu:1"):
            v = _var((2,), "v")
            c = tf.constant(1.0, name="c")
        with tf.device("/task:3"):
            u = _var((2,), "u")
    assert v.device == "/job:ps/task:0/device:GPU:1"  # the op's own fields win
    assert c.device == "/job:worker/task:0/device:GPU:1"
    assert u.device == "/job:ps/task:3/device:CPU:0"


def test_device_scope_order_as_tf1():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        with tf.device("/job:worker/task:1"):
            a = _var((2,), "a")
        b = _var((2,), "b")
    with tf.device("/job:worker/task:1"):
        with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
            c = _var((2,), "c")
    assert a.device == "/job:worker/task:1"
    assert b.device == "/job:ps/task:0"  # the strategy was not consulted for `a`
    assert c.device == "/job:ps/task:0"  # the outer scope only fills fields the setter left


def _fake_op(op_type, device="", name="op"):
    class FakeOp:  # what a device function reads: type, device, name
        pass
    op = FakeOp()
    op.type, op.device, op.name = op_type, device, name
    return op


def test_chooser_rules_as_tf1():
    fn = tf.train.replica_device_setter(ps_tasks=2)
    # An op already on another job keeps it, and the strategy is not consulted.
    assert fn(_fake_op("VarHandleOp", "/job:worker/task:1")) == "/job:worker/task:1"
    assert fn(_fake_op("VarHandleOp")) == "/job:ps/task:0"
    assert fn(_fake_op("VarHandleOp", "/job:ps")) == "/job:ps/task:1"
    assert fn(_fake_op("VarHandleOp", "/job:ps/task:5")) == "/job:ps/task:5"
    assert fn(_fake_op("MatMul", "/cpu:0")) == "/job:worker/device:CPU:0"
    # merge_devices=False: an op with any device keeps it unchanged.
    keep = tf.train.replica_device_setter(ps_tasks=2, merge_devices=False)
    assert keep(_fake_op("VarHandleOp", "/cpu:0")) == "/cpu:0"
    assert keep(_fake_op("VarHandleOp")) == "/job:ps/task:0"
    # No ps device: everything to the worker device; no worker device: no job added.
    no_ps = tf.train.replica_device_setter(ps_tasks=2, ps_device="")
    assert no_ps(_fake_op("VarHandleOp")) == "/job:worker"
    no_worker = tf.train.replica_device_setter(ps_tasks=1, worker_device="")
    assert no_worker(_fake_op("MatMul", "/cpu:0")) == "/device:CPU:0"
    assert no_worker(_fake_op("Const")) == ""


def test_ps_ops_are_matched_by_type_with_tf1_variable_names_mapped():
    assert "VarHandleOp" in STANDARD_PS_OPS and "VariableV2" in STANDARD_PS_OPS
    for ps_ops in (["VariableV2"], ["Variable"], ["VarHandleOp"]):
        with tf.Graph().as_default(), \
                tf.device(tf.train.replica_device_setter(ps_tasks=1, ps_ops=ps_ops)):
            v = _var((2,), "v")
        assert v.device == "/job:ps/task:0", ps_ops
    with tf.device(tf.train.replica_device_setter(ps_tasks=1, ps_ops=["MatMul"])):
        v = _var((2, 2), "v")
        m = tf.matmul(v, v)
    assert v.device == "/job:worker" and m.device == "/job:ps/task:0"


def test_no_ps_tasks_returns_none_and_bad_arguments():
    assert tf.train.replica_device_setter() is None
    assert tf.train.replica_device_setter(cluster={"worker": ["w0:1"]}) is None
    assert tf.train.replica_device_setter(ps_tasks=2, cluster={"chief": ["c:1"]}) is None
    with tf.device(None), tf.device(tf.train.replica_device_setter()):  # None: no-op scope
        assert tf.constant(1.0).device == ""
    with pytest.raises(TypeError, match="ps_strategy must be callable"):
        tf.train.replica_device_setter(ps_tasks=1, ps_strategy=3)
    with pytest.raises(TypeError, match="`cluster` must be a dictionary"):
        tf.train.replica_device_setter(cluster=["ps0:1"])
    with pytest.raises(ValueError, match="same address"):
        tf.train.replica_device_setter(cluster={"ps": ["h:1"], "worker": ["h:1"]})


def test_custom_strategy_gets_each_ps_op():
    seen = []

    def strategy(op):
        seen.append(op.name)
        return 7

    with tf.device(tf.train.replica_device_setter(ps_tasks=8, ps_strategy=strategy)):
        v = _var((2,), "v")
        tf.constant(1.0)
    assert seen == ["v"] and v.device == "/job:ps/task:7"


# --- strategies -------------------------------------------------------------------------------
def test_greedy_load_balancing_by_bytes():
    from tfnb.contrib.training import GreedyLoadBalancingStrategy, byte_size_load_fn
    assert tf.contrib.training.GreedyLoadBalancingStrategy is GreedyLoadBalancingStrategy
    strategy = GreedyLoadBalancingStrategy(2, byte_size_load_fn)
    sizes = [100, 10, 10, 50, 300, 5]
    with tf.device(tf.train.replica_device_setter(ps_tasks=2, ps_strategy=strategy)):
        vs = [_var((n,), "v%d" % i) for i, n in enumerate(sizes)]
    # Greedy by bytes (float32): 400 -> ps0; 40, 40, 200 -> ps1 (loads 400 | 280);
    # 1200 -> ps1 (400 | 1480); 20 -> ps0.
    assert [int(v.device[-1]) for v in vs] == [0, 1, 1, 1, 1, 0]
    assert strategy._ps_loads == [420.0, 1480.0]
    # Round-robin would have put 1200 bytes with 400 on ps0; greedy keeps ps0 lighter.
    rr = tf.train.replica_device_setter(ps_tasks=2)
    with tf.Graph().as_default(), tf.device(rr):
        rr_tasks = [int(_var((n,), "v").device[-1]) for n in sizes]
    rr_loads = [sum(4 * n for n, t in zip(sizes, rr_tasks) if t == k) for k in (0, 1)]
    assert max(rr_loads) > max(strategy._ps_loads)


def test_byte_size_load_fn():
    from tfnb.contrib.training import byte_size_load_fn
    v = tf.Variable(np.zeros((3, 5), np.float64), name="v")
    assert byte_size_load_fn(v.op) == 3 * 5 * 8  # the value held, not the handle
    assert byte_size_load_fn(tf.constant(np.zeros(7, np.int32)).op) == 28
    with pytest.raises(ValueError, match="must have a single output"):
        byte_size_load_fn(tf.no_op(name="nothing"))
    p = tf.placeholder(tf.float32, [None, 3], name="p")
    with pytest.raises(ValueError, match="p: the shape .* is not fully defined"):
        byte_size_load_fn(p.op)
    # A device function sees the op with its outputs (TF1 calls it after building the op).
    sizes = []
    with tf.device(lambda op: sizes.append(byte_size_load_fn(op)) or ""):
        tf.constant(np.ones((2, 2), np.float32))
    assert sizes == [16]


def test_random_strategy_is_deterministic_by_name():
    from tfnb.contrib.training import RandomStrategy
    a, b = RandomStrategy(4, seed=1), RandomStrategy(4, seed=1)
    ops = [_fake_op("VarHandleOp", name="layer%d/w" % i) for i in range(20)]
    picks = [a(op) for op in ops]
    assert picks == [b(op) for op in ops]
    assert set(picks) <= {0, 1, 2, 3} and len(set(picks)) > 1
