"""tf.app.flags / tf.flags: absl's parsing rules and errors, on fresh FlagValues."""
import pytest

import tfnb as tf
from tfnb.app import flags


@pytest.fixture
def fv():
    v = flags.FlagValues()
    flags.DEFINE_string("name", "x", "a string", flag_values=v)
    flags.DEFINE_integer("n", 3, "an int", lower_bound=0, flag_values=v)
    flags.DEFINE_float("lr", 0.1, "a float", flag_values=v)
    flags.DEFINE_boolean("fast", False, "a bool", flag_values=v)
    flags.DEFINE_bool("log", True, "a bool", flag_values=v)
    flags.DEFINE_enum("mode", "train", ["train", "eval"], "an enum", flag_values=v)
    flags.DEFINE_list("layers", "a,b", "a list", flag_values=v)
    flags.DEFINE_multi_string("tag", [], "repeatable", flag_values=v)
    return v


def test_defaults_and_forms(fv):
    rest = fv(["prog", "--name=abc", "pos1", "--n", "7", "-lr=0.5", "--fast", "--nolog",
               "--mode=eval", "--layers=x,y,z", "--tag=a", "--tag", "b", "pos2"])
    assert rest == ["prog", "pos1", "pos2"]
    assert fv.name == "abc" and fv.n == 7 and fv.lr == 0.5
    assert fv.fast is True and fv.log is False and fv.mode == "eval"
    assert fv.layers == ["x", "y", "z"] and fv.tag == ["a", "b"]
    assert fv.flag_values_dict() == {"name": "abc", "n": 7, "lr": 0.5, "fast": True, "log": False,
                                     "mode": "eval", "layers": ["x", "y", "z"], "tag": ["a", "b"]}


def test_defaults_when_absent_and_double_dash(fv):
    assert fv(["prog", "--", "--n=9"]) == ["prog", "--n=9"]
    assert fv.n == 3 and fv.layers == ["a", "b"] and fv.tag == [] and fv["n"].using_default_value


def test_bool_values(fv):
    fv(["p", "--fast=false", "--log=1"])
    assert fv.fast is False and fv.log is True
    with pytest.raises(flags.IllegalFlagValueError):
        fv(["p", "--fast=maybe"])


def test_errors(fv):
    with pytest.raises(flags.UnrecognizedFlagError, match="Unknown command line flag 'bogus'"):
        fv(["p", "--bogus=1"])
    with pytest.raises(flags.IllegalFlagValueError, match="--n=abc"):
        fv(["p", "--n=abc"])
    with pytest.raises(flags.IllegalFlagValueError, match="is not >= 0"):
        fv(["p", "--n=-1"])
    with pytest.raises(flags.IllegalFlagValueError, match="one of <train|eval>"):
        fv(["p", "--mode=test"])
    with pytest.raises(flags.IllegalFlagValueError, match="Missing value"):
        fv(["p", "--name"])
    with pytest.raises(flags.DuplicateFlagError):
        flags.DEFINE_string("name", "y", "again", flag_values=fv)
    assert fv(["p", "--bogus", "--n=2"], known_only=True) == ["p", "--bogus"] and fv.n == 2


def test_unparsed_access_and_setattr(fv):
    with pytest.raises(flags.UnparsedFlagAccessError):
        fv.name
    with pytest.raises(AttributeError):
        fv.undefined
    fv(["p"])
    fv.n = 11
    assert fv.n == 11
    with pytest.raises(flags.IllegalFlagValueError):
        fv.n = -5
    assert fv.n == 11  # unchanged after the rejected value


def test_required_and_validator():
    v = flags.FlagValues()
    flags.DEFINE_string("data_dir", None, "where", flag_values=v)
    flags.DEFINE_integer("k", 1, "odd", flag_values=v)
    flags.mark_flag_as_required("data_dir", flag_values=v)
    flags.register_validator("k", lambda k: k % 2 == 1, "must be odd", flag_values=v)
    with pytest.raises(flags.IllegalFlagValueError, match="must have a value other than None"):
        v(["p"])
    with pytest.raises(flags.IllegalFlagValueError, match="must be odd"):
        v(["p", "--data_dir=/d", "--k=2"])
    assert v(["p", "--data_dir=/d", "--k=3"]) == ["p"] and v.data_dir == "/d"


def test_tf_flags_is_app_flags():
    assert tf.flags.FLAGS is tf.app.flags.FLAGS
    assert tf.flags.DEFINE_string is tf.app.flags.DEFINE_string


def test_global_flags_parse_sys_argv_on_first_read(monkeypatch):
    fv = flags._ParseOnReadFlagValues()
    flags.DEFINE_integer("steps", 5, "steps", flag_values=fv)
    monkeypatch.setattr("sys.argv", ["prog", "--steps=42"])
    assert fv.steps == 42 and fv.is_parsed()
