"""Device scopes and colocation with TF 1.15's rules (ops.py ``Graph.device``,
``_apply_device_functions``, ``colocate_with``), and optimizer slots that follow them.

Expected devices were checked against TensorFlow's graph mode (``tf.compat.v1``); where
TF 1.15 and later versions differ (nested colocation), the test says which one it follows.
"""
import contextlib

import numpy as np
import pytest

import tfnb as tf


def _recorder(result, seen):
    """A device function that records (op name, op.device, #outputs, #control inputs)."""
    def fn(op):
        seen.append((op.name, op.device, len(op.outputs), len(op.control_inputs)))
        return result
    return fn


# --- the order of device scopes ---------------------------------------------------------------
def test_strings_merge_innermost_first_and_none_stops():
    with tf.device("/job:ps/task:1/cpu:0"):
        with tf.device("/task:3"):
            a = tf.constant(1.0, name="a")
        with tf.device("/gpu:1"):
            b = tf.constant(1.0, name="b")
        with tf.device(""):  # merges nothing, stops nothing
            c = tf.constant(1.0, name="c")
        with tf.device(None):
            d = tf.constant(1.0, name="d")
            with tf.device("/gpu:0"):
                e = tf.constant(1.0, name="e")
    assert a.device == "/job:ps/task:3/device:CPU:0"
    assert b.device == "/job:ps/task:1/device:GPU:1"
    assert c.device == "/job:ps/task:1/device:CPU:0"
    assert d.device == "" and e.device == "/device:GPU:0"
    with tf.device(tf.DeviceSpec(job="worker", task=2)):
        assert tf.constant(1.0).device == "/job:worker/task:2"


def test_function_sees_inner_device_and_its_result_replaces_it():
    seen = []
    with tf.device("/cpu:0"):
        with tf.device(_recorder("/job:w/task:2", seen)):
            with tf.device("/gpu:1"):
                x = tf.constant(1.0, name="x")
    # The function saw GPU:1 from the inner scope and replaced the device with its own
    # result; the outer string then filled only the device type it left open.
    assert seen == [("x", "/device:GPU:1", 1, 0)]
    assert x.device == "/job:w/task:2/device:CPU:0"
    with tf.device("/job:outer/task:5/cpu:0"), tf.device(lambda op: "/task:3"):
        assert tf.constant(1.0).device == "/job:outer/task:3/device:CPU:0"
    with tf.device("/job:ps"), tf.device(lambda op: ""):
        assert tf.constant(1.0).device == "/job:ps"
    with tf.device("/job:ps"), tf.device(lambda op: "/gpu:0"), tf.device("/task:2"):
        assert tf.constant(1.0).device == "/job:ps/device:GPU:0"  # /task:2 replaced
    with tf.device(lambda op: tf.DeviceSpec(job="ps", task=1)):
        assert tf.constant(1.0).device == "/job:ps/task:1"


def test_function_gets_the_built_op_with_outputs_and_control_inputs():
    first = tf.no_op(name="first")
    seen = []
    with tf.control_dependencies([first]), tf.device(_recorder("/cpu:0", seen)):
        s = tf.split(tf.zeros([4]), 2, name="s")
    assert seen[-1] == ("s", "", 2, 1)
    assert s[0].device == "/device:CPU:0"


def test_setter_inside_and_outside_other_scopes():
    def setter():
        return tf.train.replica_device_setter(ps_tasks=2)

    with tf.device(setter()):
        with tf.device("/job:worker/task:1"):
            a = tf.Variable([1.0], name="a")  # the setter keeps the worker's job...
        b = tf.Variable([1.0], name="b")  # ...and never asked its strategy for `a`
        with tf.device("/task:1"):
            u = tf.Variable([1.0], name="u")
    with tf.device("/job:worker/task:1/cpu:0"), tf.device(setter()):
        c = tf.Variable([1.0], name="c")
        y = c * 2.0
    assert a.device == "/job:worker/task:1"
    assert b.device == "/job:ps/task:0"
    assert u.device == "/job:ps/task:1"
    assert c.device == "/job:ps/task:0/device:CPU:0"  # the outer scope fills open fields
    assert y.device == "/job:worker/task:1/device:CPU:0"


def test_malformed_scope_fails_when_entered_and_state_is_unchanged():
    g = tf.get_default_graph()
    ctx = tf.device("/job:ps:1")  # nothing happens until the scope is entered (as TF1)
    with pytest.raises(ValueError, match=r"Unknown attribute: 'job' in '/job:ps:1'"):
        with ctx:
            pass
    with pytest.raises(TypeError, match="device string, a DeviceSpec, a function or None"):
        with tf.device(3):
            pass
    assert g._device_stack == []
    n = len(g.get_operations())
    with pytest.raises(TypeError, match=r"returned None for node c \(op Const\).*created at"):
        with tf.device(lambda op: None):
            tf.constant(1.0, name="c")
    with pytest.raises(ValueError, match=r"malformed device for node d \(op Const\).*Unknown"):
        with tf.device(lambda op: "/job:ps:1"):
            tf.constant(1.0, name="d")
    assert len(g.get_operations()) == n
    assert tf.constant(2.0, name="c").op.name == "c_1"


def test_device_scopes_must_nest():
    g = tf.get_default_graph()
    outer, inner = g.device("/cpu:0"), g.device("/gpu:0")
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(RuntimeError, match="without proper scope nesting"):
        outer.__exit__(None, None, None)


# --- colocate_with -----------------------------------------------------------------------------
def test_colocation_overrides_device_functions():
    g = tf.get_default_graph()
    with tf.device("/job:ps/task:1"):
        t = tf.constant(2.0, name="t")
    calls = []
    with tf.device(lambda op: calls.append(op.name) or "/job:worker/task:0"):
        with g.colocate_with(t):
            u = tf.identity(t, name="u")
            with tf.device("/gpu:0"):  # inside: applied, then the target's device wins
                u2 = tf.identity(t, name="u2")
        w = tf.identity(u, name="w")
    assert calls == ["w"]
    assert u.device == u2.device == "/job:ps/task:1" and w.device == "/job:worker/task:0"
    assert u.op._colocation is t.op and u2.op._colocation is t.op and w.op._colocation is None
    with g.colocate_with(u):  # colocating with a member joins the group's root (loc:@t)
        q = tf.identity(u, name="q")
    assert q.op._colocation is t.op and q.device == "/job:ps/task:1"


def test_colocation_with_a_target_without_device():
    g = tf.get_default_graph()
    t = tf.constant(3.0, name="t")
    with tf.device("/job:worker/task:0"):
        with g.colocate_with(t):
            p = tf.identity(t, name="p")  # the enclosing scope is not applied
            with tf.device("/gpu:0"):
                p2 = tf.identity(t, name="p2")  # a scope opened inside is
    assert p.device == "" and p2.device == "/device:GPU:0"
    assert p.op._colocation is t.op and p2.op._colocation is t.op


def test_nested_colocation_and_reset():
    g = tf.get_default_graph()
    with tf.device("/job:a"):
        t1 = tf.constant(1.0, name="t1")
    with tf.device("/job:b"):
        t2 = tf.constant(1.0, name="t2")
    with g.colocate_with(t1), g.colocate_with(t2):
        r = tf.constant(1.0, name="r")
    # TF 1.15 sets the device of every target in turn, innermost first, so the outermost
    # one with a device wins (TF 2.x keeps the innermost).
    assert r.device == "/job:a" and r.op._colocation is t2.op
    with g.colocate_with(t1), g.colocate_with(t2, ignore_existing=True):
        assert tf.constant(1.0).device == "/job:b"
    with tf.device("/job:x"), g.colocate_with(t1):
        with g.colocate_with(None, ignore_existing=True):
            s = tf.constant(1.0, name="s")
    assert s.device == "" and s.op._colocation is None
    with pytest.raises(ValueError, match="ignore_existing is not True"):
        with g.colocate_with(None):
            pass
    with pytest.raises(TypeError, match="colocate_with expects"):
        with g.colocate_with(3):
            pass
    with tf.device("/job:x"):  # scopes are back after colocate_with
        assert tf.constant(1.0).device == "/job:x"


def test_colocation_with_a_variable_is_with_its_handle_and_survives_export():
    g = tf.get_default_graph()
    with tf.device("/job:ps/task:1"):
        v = tf.Variable([1.0, 2.0], name="v")
    with tf.device("/job:worker"), tf.colocate_with(v):
        y = tf.identity(v.value(), name="y")
    assert y.device == "/job:ps/task:1" and y.op._colocation is v.op
    assert v.op.type == "VarHandleOp"
    nodes = {n.name: n for n in g.as_graph_def().node}
    assert nodes["y"].colocate_with == "v" and nodes["y"].device == "/job:ps/task:1"
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
        y2 = g2.get_operation_by_name("y")
        assert y2.device == "/job:ps/task:1" and y2._colocation.name == "v"


# --- optimizer slots follow their variables -----------------------------------------------------
_OPTIMIZERS = {
    "Momentum": (lambda: tf.train.MomentumOptimizer(0.1, 0.9), ["momentum"]),
    "Adam": (lambda: tf.train.AdamOptimizer(0.1), ["m", "v"]),
    "Adagrad": (lambda: tf.train.AdagradOptimizer(0.1), ["accumulator"]),
    "RMSProp": (lambda: tf.train.RMSPropOptimizer(0.1, momentum=0.5), ["momentum", "rms"]),
    "CenteredRMSProp": (lambda: tf.train.RMSPropOptimizer(0.1, centered=True),
                        ["mg", "momentum", "rms"]),
}


@pytest.mark.parametrize("name", sorted(_OPTIMIZERS))
def test_slots_and_updates_live_with_their_variable_on_two_ps_tasks(name):
    make, slot_names = _OPTIMIZERS[name]
    g = tf.get_default_graph()
    with tf.device(tf.train.replica_device_setter(ps_tasks=2,
                                                  worker_device="/job:worker/task:0")):
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        w = tf.Variable(np.ones((4, 3), np.float32), name="w")
        b = tf.Variable(np.zeros(3, np.float32), name="b")
        step = tf.train.get_or_create_global_step()
        loss = tf.reduce_sum(tf.matmul(x, w) + b)
        opt = make()
        n_before = len(g.get_operations())
        train = opt.minimize(loss, global_step=step)
    assert (w.device, b.device, step.device) == ("/job:ps/task:0", "/job:ps/task:1",
                                                 "/job:ps/task:0")
    assert loss.device == "/job:worker/task:0"
    assert opt.get_slot_names() == slot_names
    for v in (w, b):
        for s in slot_names:
            slot = opt.get_slot(v, s)
            assert slot.device == v.device, (s, v.name)
            assert slot.op._colocation is v.op  # TF1's _class: loc:@<variable>
            assert slot.initializer.device == v.device
    new_ops = g.get_operations()[n_before:]
    updates = [op for op in new_ops if op.type.startswith("ResourceApply")]
    assert len(updates) == 2
    for op in updates:
        var_op = op.inputs[0].op
        assert op.device == var_op.device and op._colocation is var_op
        # Its hyper-parameters are made where it runs: nothing crosses from the worker.
        for t in op.inputs[1:]:
            if t.op.type in ("Const", "Cast"):
                assert t.device == var_op.device, (t.name, t.device)
    assert train.device == step.device and train._colocation is step.op  # the step's increment


def test_adam_beta_powers_live_with_the_first_variable_by_name():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        w = tf.Variable(np.ones((4, 3), np.float32), name="w")  # ps:0
        b = tf.Variable(np.zeros(3, np.float32), name="b")  # ps:1, and "b" < "w"
        x = tf.placeholder(tf.float32, [None, 4])
        opt = tf.train.AdamOptimizer(0.01)
        opt.minimize(tf.reduce_sum(tf.matmul(x, w) + b))
    beta1, beta2 = opt._get_beta_accumulators()
    assert beta1.device == beta2.device == b.device == "/job:ps/task:1"
    assert beta1.op._colocation is b.op and beta2.op._colocation is b.op
    g = tf.get_default_graph()
    update_beta1 = g.get_operation_by_name("Adam/update_beta1")
    assert update_beta1.device == "/job:ps/task:1"


# --- variable reads, moving averages and colocated gradients on two ps tasks ----------------
# Each graph is built twice: with a 2-ps replica_device_setter (devices and placement are
# checked) and without devices (a local session computes the values).
def _place_on_cluster(ops):
    """Places ``ops`` as a worker's cluster session would (ps:0, ps:1, worker:0)."""
    from tfnb.framework.device_spec import DeviceSpec
    from tfnb.runtime.devices import Device
    from tfnb.runtime.placer import place
    devices = [Device("CPU", 0, job="ps", task=0), Device("CPU", 0, job="ps", task=1),
               Device("CPU", 0, job="worker", task=0)]
    placement = place(sorted(ops, key=lambda o: o._id), devices,
                      default_task=DeviceSpec(job="worker", task=0))
    return {op.name: "/job:%s/task:%d" % (d.job, d.task) for op, d in placement.assignment.items()}


def _device(on):
    """``tf.device`` on the cluster, nothing locally."""
    return lambda spec: tf.device(spec) if on else contextlib.nullcontext()


def _setter(on):
    return _device(on)(tf.train.replica_device_setter(ps_tasks=2,
                                                      worker_device="/job:worker/task:0"))


def _two_variables(on):
    with _setter(on):
        a = tf.Variable(np.ones((2, 3), np.float32), name="a")
        b = tf.Variable(np.full(3, 2.0, np.float32), name="b")
    return a, b


def _build_reads(on):
    g = tf.get_default_graph()
    a, b = _two_variables(on)
    with _device(on)("/job:worker/task:0"), g.colocate_with(a):
        reads = [b.value(), b.read_value(), tf.convert_to_tensor(b), b + 0.0]
        y = tf.multiply(a.value(), reads[2], name="y")
    return a, b, reads, y


def test_reading_a_variable_inside_another_variables_colocation():
    g = tf.get_default_graph()
    a, b, reads, y = _build_reads(True)
    assert (a.device, b.device) == ("/job:ps/task:0", "/job:ps/task:1")
    for r in reads[:3]:
        assert r.op.type == "ReadVariableOp" and r.device == b.device and r.op._colocation is None
    assert reads[3].op.inputs[0].device == b.device
    assert y.device == a.device and y.op._colocation is a.op
    placed = _place_on_cluster(g.get_operations())
    assert placed["y"] == "/job:ps/task:0" and placed[reads[2].op.name] == "/job:ps/task:1"
    with tf.Graph().as_default():
        _, _, _, y = _build_reads(False)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(y), np.full((2, 3), 2.0))


def _build_averages(on):
    a, b = _two_variables(on)
    with _setter(on):
        ema = tf.train.ExponentialMovingAverage(0.5)
        update = ema.apply([a, b])
        debiased = tf.train.ExponentialMovingAverage(0.5, zero_debias=True)
        t = tf.identity(b.value(), name="t")
        update_t = debiased.apply([t])
    return a, b, ema, update, debiased, t, update_t


def test_moving_average_shadows_live_with_their_variables():
    g = tf.get_default_graph()
    a, b, ema, _, debiased, t, _ = _build_averages(True)
    for v in (a, b):
        shadow = ema.average(v)
        assert shadow.device == v.device and shadow.op._colocation is v.op
        assert shadow.initializer.device == v.device
    assigns = [op for op in g.get_operations() if op.type == "AssignSubVariableOp"
               and op.name.startswith("ExponentialMovingAverage/")]
    assert len(assigns) == 2
    for op in assigns:
        assert op.device == op.inputs[0].device  # the update runs where its shadow lives
    placed = _place_on_cluster(g.get_operations())  # no colocation conflict anywhere
    assert placed[ema.average(b).op.name] == "/job:ps/task:1"
    with tf.Graph().as_default():
        a, b, ema, update, debiased, t, update_t = _build_averages(False)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(a.assign(np.zeros((2, 3), np.float32)))
            sess.run([update, update_t])
            np.testing.assert_allclose(sess.run(ema.average(a)), np.full((2, 3), 0.5))
            np.testing.assert_allclose(sess.run(debiased.average(t)), np.full(3, 2.0))


def _build_gradients(on, via):
    a, b = _two_variables(on)
    dev = _device(on)
    with _setter(on):
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        with dev("/job:worker/task:0"):
            h = tf.matmul(x, a, name="h")
        with dev("/job:ps/task:1"):
            z = tf.tanh(h + b, name="z")  # a forward op on another task
        loss = tf.reduce_sum(z * z, name="loss")
        if via == "gradients":
            grads = tf.gradients(loss, [a, b], colocate_gradients_with_ops=True)
        else:
            opt = tf.train.GradientDescentOptimizer(0.1)
            grads = [gr for gr, _ in opt.compute_gradients(
                loss, [a, b], colocate_gradients_with_ops=True)]
    return x, grads


@pytest.mark.parametrize("via", ["gradients", "optimizer"])
def test_colocate_gradients_with_ops(via):
    g = tf.get_default_graph()
    _build_gradients(True, via)
    grad_ops = [op for op in g.get_operations() if "_grad/" in op.name]
    checked = set()
    for op in grad_ops:
        fwd = g.get_operation_by_name(op.name.split("/")[1][:-len("_grad")])
        assert op.device == fwd.device, (op.name, op.device, fwd.name, fwd.device)
        assert op._colocation is (fwd._colocation or fwd)
        checked.add(fwd.name)
    assert {"h", "z", "loss"} <= checked
    assert g.get_operation_by_name("gradients/z_grad/TanhGrad").device == "/job:ps/task:1"
    assert g.get_operation_by_name("gradients/h_grad/MatMul_1").device == "/job:worker/task:0"
    _place_on_cluster(g.get_operations())
    xv = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
    with tf.Graph().as_default():
        x, grads = _build_gradients(False, via)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            ga, gb = sess.run(grads, {x: xv})
    zv = np.tanh(xv @ np.ones((2, 3)) + 2.0)
    dpre = 2 * zv * (1 - zv ** 2)
    np.testing.assert_allclose(ga, xv.T @ dpre, rtol=1e-5)
    np.testing.assert_allclose(gb, dpre.sum(0), rtol=1e-5)


def test_gradients_without_colocation_follow_the_device_scopes():
    a, b = _two_variables(True)
    with tf.device("/job:worker/task:0"):
        loss = tf.reduce_sum(tf.tanh(a * b))
        tf.gradients(loss, [a, b])
    grad_ops = [op for op in tf.get_default_graph().get_operations() if "_grad/" in op.name]
    assert grad_ops and all(op.device == "/job:worker/task:0" and op._colocation is None
                            for op in grad_ops)
