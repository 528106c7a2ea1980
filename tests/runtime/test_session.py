"""Sessions: fetch structures, feeds, partial runs, plan caching, errors that leave state intact."""
import collections

import numpy as np
import pytest

import tfnb as tf


def test_fetch_structures_and_dedup():
    a = tf.constant(1.0)
    b = tf.constant([2.0, 3.0])
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        assert sess.run(a) == 1.0
        r = sess.run({"a": a, "nested": [b, (a, Pair(a, b))], "name": "Const:0"})
        assert r["a"] == 1.0 and r["name"] == 1.0
        np.testing.assert_array_equal(r["nested"][0], [2.0, 3.0])
        assert isinstance(r["nested"][1][1], Pair) and r["nested"][1][1].x == 1.0
        op_result = sess.run(tf.no_op())
        assert op_result is None
        plan = sess.cached_plans()[-2]
        assert len(plan.fetch_tensors) == 2  # a and b, each once


def test_scalar_fetch_is_numpy_scalar_and_dtype_kept():
    with tf.Session() as sess:
        v = sess.run(tf.constant(3, dtype=tf.int64))
        assert isinstance(v, np.int64)
        assert sess.run(tf.constant([1.5], dtype=tf.float16)).dtype == np.float16


def test_partial_run_does_not_need_unused_placeholder():
    x = tf.placeholder(tf.float32, [None])
    unused = tf.placeholder(tf.float32, [])
    y = x * 2.0
    z = y + unused
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder"):
            sess.run(z, {x: [1.0]})


def test_feed_intermediate_tensor_bypasses_upstream():
    x = tf.placeholder(tf.float32, [2])
    h = x * 10.0
    y = h + 1.0
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {h: [1.0, 2.0]}), [2.0, 3.0])
        np.testing.assert_array_equal(sess.run(y, {"mul:0": [0.0, 0.0]}), [1.0, 1.0])


def test_feed_shape_and_dtype_errors_are_client_errors():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = x + 1.0
    with tf.Session() as sess:
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(2, 3\) for Tensor 'x:0', "
                                             r"which has shape '\(\?, 4\)'"):
            sess.run(y, {x: np.zeros((2, 3))})
        with pytest.raises(TypeError):
            sess.run(y, {x: [["a", "b", "c", "d"]]})
        with pytest.raises(TypeError, match="feed cannot be a tf.Tensor"):
            sess.run(y, {x: tf.zeros([1, 4])})
        # float64 values are converted to the placeholder's dtype
        assert sess.run(y, {x: np.ones((1, 4))}).dtype == np.float32


def test_non_feedable_and_unknown_fetch():
    x = tf.constant(1.0, name="c")
    tf.get_default_graph().prevent_feeding(x)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="may not be fed"):
            sess.run(x + 1.0, {x: 2.0})
        with pytest.raises(ValueError, match="cannot be interpreted"):
            sess.run("nothing:0")
        with pytest.raises(TypeError):
            sess.run(None)


def test_cycle_is_reported():
    a = tf.placeholder(tf.float32, [])
    b = tf.identity(a)
    c = tf.identity(b)
    b.op._update_input(0, c)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="cycle"):
            sess.run(c)


def test_uninitialized_variable_names_it():
    v = tf.Variable(tf.zeros([2]), name="weights")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="weights") as e:
            sess.run(v)
        assert e.value.op is not None and "test_session.py" in str(e.value)


def test_runtime_error_names_op_shapes_location_and_leaves_state_untouched():
    v = tf.Variable([1.0, 2.0], name="v")
    x = tf.placeholder(tf.float32, [None])
    bump = v.assign_add([10.0, 10.0])
    with tf.control_dependencies([bump]):
        bad = tf.reshape(x, [3]) + 1.0  # only fails at run time (x has unknown length)
    with tf.Session() as sess:
        sess.run(v.initializer)
        n_plans = len(sess.cached_plans())
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(bad, {x: [1.0, 2.0]})
        msg = str(e.value)
        assert "Reshape" in msg and "float32[2]" in msg and "test_session.py" in msg
        assert e.value.op.type == "Reshape"
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])  # the assign_add was undone
        assert len(sess.cached_plans()) == n_plans + 2  # failed plan stays usable; v read cached
        np.testing.assert_array_equal(sess.run(bad, {x: [1.0, 2.0, 3.0]}), [2.0, 3.0, 4.0])
        np.testing.assert_array_equal(sess.run(v), [11.0, 12.0])


def test_plan_cache_reuse_and_compile_failure_not_cached():
    x = tf.placeholder(tf.float32, [])
    y = x * 2.0
    with tf.Session() as sess:
        sess.run(y, {x: 1.0})
        sess.run(y, {x: 2.0})
        assert len(sess.cached_plans()) == 1
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(y)
        assert len(sess.cached_plans()) == 1


def test_two_sessions_have_independent_variables():
    v = tf.Variable(0.0)
    inc = v.assign_add(1.0)
    s1, s2 = tf.Session(), tf.Session()
    s1.run(v.initializer)
    s2.run(v.initializer)
    s1.run(inc)
    s1.run(inc)
    assert s1.run(v) == 2.0 and s2.run(v) == 0.0
    s1.close()
    s2.close()
    with pytest.raises(RuntimeError, match="closed"):
        s1.run(v)


def test_eval_and_run_use_default_session():
    v = tf.Variable(5.0)
    c = v * 2.0
    with pytest.raises(ValueError, match="No default session"):
        c.eval()
    with tf.Session() as sess:
        v.initializer.run()
        assert c.eval() == 10.0
        assert tf.get_default_session() is sess
    other = tf.Graph()
    with other.as_default():
        t = tf.constant(1.0)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="graph is different"):
            t.eval()


def test_make_callable():
    x = tf.placeholder(tf.float32, [])
    y = x * x
    with tf.Session() as sess:
        f = sess.make_callable([y], [x])
        assert f(3.0) == [9.0]


def test_fetched_values_do_not_alias_session_state():
    v = tf.Variable([1.0, 2.0])
    c = tf.constant([5.0, 6.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        a = sess.run(v)
        a[0] = 100.0
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
        b = sess.run(c)
        b[0] = -1.0
        np.testing.assert_array_equal(sess.run(c), [5.0, 6.0])


def test_plan_runs_creation_order_and_frees_values():
    x = tf.placeholder(tf.float32, [3])
    y = tf.exp(x)
    z = tf.reduce_sum(y * y)
    with tf.Session() as sess:
        sess.run(z, {x: [0.0, 1.0, 2.0]})
        src = sess.cached_plans()[0].source
    assert "del " in src  # intermediates are released after their last use


def test_control_dependency_on_a_fed_placeholder_comes_from_the_feed():
    # TF1's feed rewrite moves a fed Placeholder's control edges to the feed.
    x = tf.placeholder(tf.float32, [2])
    c = tf.constant([1.0, 2.0])
    with tf.control_dependencies([x]):
        y = c + 1.0
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: np.zeros(2)}), [2.0, 3.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value"):
            sess.run(y)
