"""Checkpoints: ``tf.train.Saver`` and the functions that read checkpoint directories.

A checkpoint ``PREFIX`` (e.g. ``/tmp/model.ckpt-100``) is written in one of two formats:

* TensorFlow's V2 format (the default, as TF1's ``write_version=SaverDef.V2``):
  ``PREFIX.index`` (a table of ``BundleEntryProto``), ``PREFIX.data-00000-of-00001``
  (:mod:`tfnb.io.tensor_bundle`, NumPy only) and ``PREFIX.meta``, TensorFlow's
  ``MetaGraphDef`` (:mod:`tfnb.io.tf_meta_graph`). The Saver builds TensorFlow's own
  save/restore ops (``SaveV2``, ``RestoreV2``), so TensorFlow restores the checkpoint and runs
  the meta graph's saver. Writing a ``MetaGraphDef`` needs protobuf: without it the ``.meta``
  is tfnb's (a warning says so) and the checkpoint itself is still TensorFlow's;
* tfnb's own, with ``Saver(format="tfnb")``: ``PREFIX.index`` (JSON) and
  ``PREFIX.data-<hash>`` (a ``.npz``; :mod:`tfnb.train.checkpoint_bundle`), plus
  ``PREFIX.meta`` in tfnb's JSON GraphDef (``tfnb.framework.graph_format``). Earlier tfnb
  versions wrote it by default. ``format`` is tfnb's flag: TF1's ``write_version=SaverDef.V1``
  means TensorFlow's deprecated V1 format, which tfnb does not write (it writes V2 instead,
  with a warning).

Every reader here takes both formats (``NewCheckpointReader``, ``list_variables``,
``Saver.restore``...): which one a checkpoint is shows in its index. ``checkpoint`` in the
directory is TF1's text state file naming the latest checkpoints.

A save runs as TF1's: the checkpoint (data, index, meta graph), then the ``checkpoint``
state file, and only then the deletion of checkpoints beyond ``max_to_keep``; so a crash or
Ctrl-C at any point leaves ``latest_checkpoint`` naming a complete checkpoint. In both formats
each file is written and synced under a temporary name and renamed into place, the index
last, and new data never replaces the data an existing index names (a V2 re-save of the same
prefix alternates shard counts, see ``tensor_bundle.write_bundle``): killed at any moment, a
prefix holds its old checkpoint or its new one, whole. Every save
first removes the temporary files that killed saves left in its directory
(:func:`~tfnb.train.checkpoint_bundle.remove_stale_temp_files` says which are stale).
A restore first reads and checks every tensor (presence, dtype, shape, checksum) and only
then assigns, inside one ``run``: a bad checkpoint raises a typed error naming it and
changes no variable.
"""
import logging
import os
import re
import time

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..ops import core
from ..ops.array_ops import placeholder_with_default
from ..ops.control_flow_ops import group
from ..ops.variables import Variable, global_variables
from ..io.tensor_bundle import open_checkpoint
from .checkpoint_bundle import (atomic_write, read_small_file, remove_quietly,
                                remove_stale_temp_files, write_checkpoint)

__all__ = ["Saver", "latest_checkpoint", "get_checkpoint_state", "checkpoint_exists",
           "list_variables", "load_variable", "load_checkpoint", "CheckpointState",
           "update_checkpoint_state", "NewCheckpointReader", "import_meta_graph",
           "export_meta_graph", "SaverDef", "init_from_checkpoint"]

_LOG = logging.getLogger("tfnb.train")


class SaverDef:
    """TF1's checkpoint format versions (``tf.train.SaverDef.V2``...)."""
    LEGACY = 0
    V1 = 1
    V2 = 2


FORMATS = ("tf", "tfnb")


def _check_format(format):  # noqa: A002 - tfnb's keyword, as write_graph's
    if format not in (None,) + FORMATS:
        raise ValueError("format must be 'tf' (TensorFlow's) or 'tfnb' (tfnb's own), got %r"
                         % (format,))
    return format or "tf"


# ----------------------------------------------------------------------------------------------
# Reading checkpoints (TF1's checkpoint_utils)
# ----------------------------------------------------------------------------------------------
def NewCheckpointReader(filepattern):  # noqa: N802 - TF's name
    """A reader of checkpoint ``filepattern`` (a prefix), in TensorFlow's V2 format or tfnb's:
    ``get_tensor(name)``, ``has_tensor``, ``get_variable_to_shape_map``,
    ``get_variable_to_dtype_map``.

    Raises:
        NotFoundError: no such checkpoint.
        DataLossError: a truncated or corrupted index (naming the file).
    """
    return open_checkpoint(filepattern)


def load_checkpoint(ckpt_dir_or_file):
    """A reader (:func:`NewCheckpointReader`) of a checkpoint prefix, or of the latest
    checkpoint of a directory."""
    return open_checkpoint(_resolve(ckpt_dir_or_file))


def _resolve(ckpt_dir_or_file):
    if os.path.isdir(ckpt_dir_or_file):
        p = latest_checkpoint(ckpt_dir_or_file)
        if p is None:
            raise ValueError("Couldn't find 'checkpoint' file or checkpoints in given directory %s"
                             % ckpt_dir_or_file)
        return p
    return ckpt_dir_or_file


def list_variables(ckpt_dir_or_file):
    """[(name, shape)] of the tensors in a checkpoint (a prefix or a directory)."""
    m = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return sorted(m.items())


def load_variable(ckpt_dir_or_file, name):
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


def checkpoint_exists(checkpoint_prefix):
    return os.path.exists(checkpoint_prefix + ".index")


def init_from_checkpoint(ckpt_dir_or_file, assignment_map):
    """Makes variables' initializers load them from a checkpoint (either format), as TF1.

    ``assignment_map`` maps checkpoint names to current variables (TF1's rules):

    * ``"ckpt/name": var`` (a Variable) or ``"ckpt/name": "current/name"`` (a variable made
      with ``tf.get_variable``) loads that one tensor;
    * ``"old_scope/": "new_scope/"`` loads every ``get_variable`` variable under
      ``new_scope/`` from the same name under ``old_scope/``;
    * ``"/": "new_scope/"`` (or ``"/": "/"``) loads them from the checkpoint's root.

    Each variable's initializer becomes a ``RestoreV2`` of its tensor assigned to it (its
    ``initial_value`` the restored tensor), so run ``tf.global_variables_initializer()``
    (made after this call) to load them.

    Raises:
        ValueError: a tensor missing from the checkpoint, shapes that differ, or a scope
            mapped to a single name.
    """
    from ..ops import variable_scope
    reader = load_checkpoint(ckpt_dir_or_file)
    prefix = _resolve(ckpt_dir_or_file)
    shapes = reader.get_variable_to_shape_map()
    store = variable_scope._store().vars
    for ckpt_name, current in assignment_map.items():
        if isinstance(current, (list, tuple)):
            raise errors.UnimplementedError(None, None, "init_from_checkpoint: partitioned "
                                            "variables (a list for %r) are not supported"
                                            % ckpt_name)
        var = current if isinstance(current, Variable) else store.get(current)
        if var is not None:
            _check_in_checkpoint(var, ckpt_name, shapes, ckpt_dir_or_file)
            _set_checkpoint_initializer(var, prefix, ckpt_name)
            continue
        scope = current[:current.rindex("/")] if "/" in current else ""
        if not ckpt_name.endswith("/"):
            raise ValueError("Assignment map with scope only name %s should map to scope only "
                             "%s. Should be 'scope/': 'other_scope/'." % (current, ckpt_name))
        for name in sorted(n for n in store if not scope or n.startswith(scope + "/")):
            tensor = name[len(scope):]
            if current != "/":
                tensor = tensor[1:]
            if ckpt_name != "/":
                tensor = ckpt_name + tensor
            tensor = tensor[:-1] if tensor.endswith("/") else tensor
            if tensor not in shapes:
                raise ValueError("Tensor %s (%s in %s) is not found in %s checkpoint"
                                 % (tensor, name[len(scope) + 1:], ckpt_name, ckpt_dir_or_file))
            _check_in_checkpoint(store[name], tensor, shapes, ckpt_dir_or_file)
            _set_checkpoint_initializer(store[name], prefix, tensor)


def _check_in_checkpoint(var, tensor, shapes, where):
    if tensor not in shapes:
        raise ValueError("Tensor %s is not found in %s checkpoint %s" % (tensor, where, shapes))
    if not var.shape.is_compatible_with(TensorShape(shapes[tensor])):
        raise ValueError("Shape of variable %s (%s) doesn't match with shape of tensor %s (%s) "
                         "from checkpoint reader." % (var.name, var.shape, tensor, shapes[tensor]))


def _set_checkpoint_initializer(var, prefix, tensor):
    """``var``'s initializer (and initial value) restores ``tensor`` of checkpoint ``prefix``."""
    graph = var.graph
    with graph.as_default(), graph.control_dependencies(None), \
            graph.device(var.device or None), name_scope(var.op.name + "/"):
        restored = core.op("RestoreV2", [
            core.constant(prefix, dtype=dtypes.string, name="prefix"),
            core.constant([tensor], dtype=dtypes.string, name="tensor_names"),
            core.constant([""], dtype=dtypes.string, name="shape_and_slices")],
            {"dtypes": (var.dtype,), "_shapes": (tuple(var.shape.as_list())
                                                 if var.shape.ndims is not None else None,)},
            name="checkpoint_initializer")._outputs[0]
        var._initializer_op = var._assign_op("AssignVariableOp", restored,
                                             "checkpoint_initializer_assign").op
        var._initial_value = restored


# ----------------------------------------------------------------------------------------------
# The "checkpoint" state file (TF1's text format)
# ----------------------------------------------------------------------------------------------
class CheckpointState:
    def __init__(self, model_checkpoint_path, all_model_checkpoint_paths=None,
                 all_model_checkpoint_timestamps=None):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths or [])
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps or [])

    def __repr__(self):
        return "CheckpointState(%r, %r)" % (self.model_checkpoint_path, self.all_model_checkpoint_paths)


def _state_path(checkpoint_dir, latest_filename=None):
    return os.path.join(checkpoint_dir, latest_filename or "checkpoint")


def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None,
                            latest_filename=None, all_model_checkpoint_timestamps=None):
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    lines = ['model_checkpoint_path: "%s"' % _rel(save_dir, model_checkpoint_path)]
    lines += ['all_model_checkpoint_paths: "%s"' % _rel(save_dir, p) for p in paths]
    if all_model_checkpoint_timestamps:
        lines += ["all_model_checkpoint_timestamps: %r" % t for t in all_model_checkpoint_timestamps]
    atomic_write(_state_path(save_dir, latest_filename), ("\n".join(lines) + "\n").encode())


def _rel(save_dir, path):
    try:
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(save_dir):
            return os.path.basename(path)
    except ValueError:
        pass
    return path


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """Parses the ``checkpoint`` file of ``checkpoint_dir``; None if there is none.

    As TF1, a state file that cannot be read or parsed is logged and ignored (None).
    """
    path = _state_path(checkpoint_dir, latest_filename)
    try:
        text = read_small_file(path, "Checkpoint state file %s" % path).decode("utf-8")
    except FileNotFoundError:
        return None
    except (errors.OpError, UnicodeDecodeError) as e:
        _LOG.warning("%s: %s; checkpoint state ignored", type(e).__name__, e)
        return None
    model = None
    all_paths, stamps = [], []
    for line in text.splitlines():
        m = re.match(r'\s*(\w+)\s*:\s*"?(.*?)"?\s*$', line)
        if not m:
            continue
        key, val = m.groups()
        if key == "model_checkpoint_path":
            model = val
        elif key == "all_model_checkpoint_paths":
            all_paths.append(val)
        elif key == "all_model_checkpoint_timestamps":
            try:
                stamps.append(float(val))
            except ValueError:
                _LOG.warning("Checkpoint state file %s has a bad timestamp %r; ignored", path,
                             val[:40])
                return None

    def absolute(p):
        return p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)
    if model is None:
        return None
    return CheckpointState(absolute(model), [absolute(p) for p in all_paths], stamps)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the most recent checkpoint in ``checkpoint_dir``, or None."""
    st = get_checkpoint_state(checkpoint_dir, latest_filename)
    if st and st.model_checkpoint_path and checkpoint_exists(st.model_checkpoint_path):
        return st.model_checkpoint_path
    return None


# ----------------------------------------------------------------------------------------------
# Save / restore ops
# ----------------------------------------------------------------------------------------------
def _as_str(x):
    """A path from a string tensor's value (bytes, str, or a 0-d object array of them)."""
    if isinstance(x, np.ndarray):
        x = x.item()
    return x.decode() if isinstance(x, bytes) else str(x)


def _save_kernel(op, ctx):
    names = op._attrs["names"]

    def save_tensors(filename, *values):
        prefix = _as_str(filename)
        arrays = {n: np.asarray(v) for n, v in zip(names, values)}
        write_checkpoint(prefix, arrays)
        return np.asarray(prefix.encode(), dtype=object)
    return save_tensors


register_op("SaveTensors", infer=lambda op: [(dtypes.string, TensorShape([]))],
            kernel=_save_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            doc="Writes its inputs as a checkpoint named by its first input; outputs the prefix.")


def _restore_infer(op):
    return [(dt, TensorShape(s)) for dt, s in zip(op._attrs["dtypes"], op._attrs["shapes"])]


def _restore_kernel(op, ctx):
    names, dts, shapes = op._attrs["names"], op._attrs["dtypes"], op._attrs["shapes"]

    def restore_tensors(filename):
        prefix = _as_str(filename)
        reader = open_checkpoint(prefix)
        out = []
        for n, dt, shp in zip(names, dts, shapes):
            if not reader.has_tensor(n):
                raise errors.NotFoundError(None, None, "Key %s not found in checkpoint %s"
                                           % (n, prefix))
            v = reader.get_tensor(n)
            if dtypes.as_dtype(v.dtype) is not dt:
                raise errors.InvalidArgumentError(
                    None, None, "tensor_name = %s; expected dtype %s does not equal original dtype "
                    "%s in checkpoint %s" % (n, dt.name, dtypes.as_dtype(v.dtype).name, prefix))
            if shp is not None and None not in shp and tuple(v.shape) != tuple(shp):
                raise errors.InvalidArgumentError(
                    None, None, "Assign requires shapes of both tensors to match. variable %s has "
                    "shape %s, checkpoint %s has shape %s" % (n, list(shp), prefix, list(v.shape)))
            out.append(v)
        return tuple(out) if len(out) != 1 else out[0]
    return restore_tensors


register_op("RestoreTensors", infer=_restore_infer, kernel=_restore_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Reads and checks every named tensor of a checkpoint before any is assigned.")


def _var_dict(var_list):
    """{checkpoint name: Variable} from a list, a dict, or None (all saveable variables)."""
    if var_list is None:
        var_list = global_variables() + get_default_graph().get_collection(GraphKeys.SAVEABLE_OBJECTS)
    if isinstance(var_list, dict):
        items = list(var_list.items())
    else:
        items = []
        for v in var_list:
            if isinstance(v, (list, tuple)):
                items.extend((x.op.name, x) for x in v)
            else:
                items.append((v.op.name, v))
    out = {}
    for name, v in items:
        if not isinstance(v, Variable):
            raise TypeError("Saver can only save tf.Variable objects, got %r for %s" % (v, name))
        if name in out and out[name] is not v:
            raise ValueError("At least two variables have the same name: %s" % name)
        out[name] = v
    return out


class Saver:
    """Saves and restores variables.

    Args:
        var_list: None (all global variables), a list of variables (saved under their op
            names), or a dict {checkpoint name: variable}.
        max_to_keep: how many recent checkpoints to keep (0 or None: all).
        keep_checkpoint_every_n_hours: additionally keep one checkpoint per this many hours.
        saver_def: a ``SaverDef`` (proto or the dict ``to_proto`` gives) naming the filename
            tensor, save tensor and restore op already in the graph (as an imported meta
            graph has them): the Saver runs those instead of building ops.
        write_version: ``tf.train.SaverDef.V2`` (the default) for TensorFlow's V2 format.
            ``SaverDef.V1`` asks for TensorFlow's deprecated V1 format, which tfnb does not
            write: it logs a warning and writes V2 (which TensorFlow reads as well).
        format: tfnb's own keyword: ``"tf"`` (the default: TensorFlow's V2 checkpoint and
            ``MetaGraphDef``) or ``"tfnb"`` (tfnb's JSON index, ``.npz`` data and JSON meta
            graph, the default of earlier tfnb versions). Either format is restored.

    Both formats are read as defensively: checksums on every tensor (and table block),
    sizes checked before allocation, data files confined to the checkpoint's directory.

    Example:
        >>> saver = tf.train.Saver()
        >>> path = saver.save(sess, "/tmp/model.ckpt", global_step=step)
        >>> saver.restore(sess, tf.train.latest_checkpoint("/tmp"))
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=SaverDef.V2, pad_step_number=False, save_relative_paths=False,
                 filename=None, format=None):  # noqa: A002 - tfnb's keyword
        if sharded:
            raise NotImplementedError("sharded=True checkpoints are not supported yet")
        self._tf_format = _check_format(format) == "tf"
        if self._tf_format and write_version == SaverDef.V1:
            _LOG.warning("tfnb does not write TensorFlow's deprecated V1 checkpoint format; "
                         "writing V2")
        if saver_def is not None:
            self._init_from_saver_def(saver_def, pad_step_number, format)
            return
        self._vars = _var_dict(var_list)
        if not self._vars and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._keep_every = keep_checkpoint_every_n_hours
        self._next_keep_time = time.time() + keep_checkpoint_every_n_hours * 3600
        self._pad_step_number = pad_step_number
        self._last = []  # [(path, timestamp)]
        self._filename = filename or "model"
        self._graph = get_default_graph()
        names = sorted(self._vars)
        with self._graph.as_default(), self._graph.control_dependencies(None), \
                name_scope(name, "save"):
            if self._tf_format:
                self._build_tf_ops(names)
            else:
                self._build_tfnb_ops(names)

    def _build_tfnb_ops(self, names):
        """SaveTensors/RestoreTensors: tfnb's format, checked whole before any assignment."""
        self._filename_t = placeholder_with_default(
            core.constant(self._filename, dtype=dtypes.string), [], name="filename")
        if names:
            reads = [self._vars[n].value() for n in names]
            self._save_t = core.op("SaveTensors", [self._filename_t] + reads,
                                   {"names": tuple(names)}, name="save_tensors")._outputs[0]
            restored = core.op("RestoreTensors", [self._filename_t], {
                "names": tuple(names), "dtypes": tuple(self._vars[n].dtype for n in names),
                "shapes": tuple(tuple(self._vars[n].shape.as_list())
                                if self._vars[n].shape.ndims is not None else None
                                for n in names)}, name="restore_tensors")._outputs
            self._restore_op = group(*[self._vars[n].assign(t) for n, t in zip(names, restored)],
                                     name="restore_all")
        else:
            self._save_t = None
            self._restore_op = None

    def _build_tf_ops(self, names):
        """The graph TensorFlow's Saver builds for V2 checkpoints (same op types and names).

        A restore assigns with ``validate_shape``: a checkpoint tensor whose shape differs
        from its variable's fails the step (InvalidArgumentError naming the variable and
        both shapes) and the session rolls back the assignments made before it.
        """
        from ..ops.array_ops import identity
        default = core.constant(self._filename, dtype=dtypes.string, name="filename/input")
        filename = placeholder_with_default(default, [], name="filename")
        self._filename_t = placeholder_with_default(filename, [], name="Const")
        if not names:
            self._save_t = self._restore_op = None
            return
        variables = [self._vars[n] for n in names]
        spec = {"dtypes": tuple(v.dtype for v in variables)}
        reads = [v.value() for v in variables]
        with name_scope("SaveV2") as scope:  # the op takes the scope's own name, as in TF
            save_names = core.constant(names, dtype=dtypes.string, name="tensor_names")
            save_slices = core.constant([""] * len(names), dtype=dtypes.string,
                                        name="shape_and_slices")
            save = core.op("SaveV2", [self._filename_t, save_names, save_slices] + reads, spec,
                           name=scope)
        with self._graph.control_dependencies([save]):
            self._save_t = identity(self._filename_t, name="control_dependency")
        with name_scope("RestoreV2") as scope:
            restore_names = core.constant(names, dtype=dtypes.string, name="tensor_names")
            restore_slices = core.constant([""] * len(names), dtype=dtypes.string,
                                           name="shape_and_slices")
            restored = core.op("RestoreV2", [self._filename_t, restore_names, restore_slices],
                               spec, name=scope)._outputs
        assigns = [v._assign_op("AssignVariableOp", identity(t, name="Identity"),
                                "AssignVariableOp").op for v, t in zip(variables, restored)]
        self._restore_op = group(*assigns, name="restore_all")

    def _init_from_saver_def(self, saver_def, pad_step_number, format):  # noqa: A002
        """Uses the save/restore ops a SaverDef names (an imported meta graph's)."""
        get = (lambda k: saver_def.get(k)) if isinstance(saver_def, dict) else \
            (lambda k: getattr(saver_def, k))
        self._graph = get_default_graph()
        self._vars = {}
        self._filename_t = self._graph.as_graph_element(get("filename_tensor_name"))
        save_name, restore_name = get("save_tensor_name"), get("restore_op_name")
        self._save_t = self._graph.as_graph_element(save_name) if save_name else None
        self._restore_op = self._graph.as_graph_element(restore_name) if restore_name else None
        # tfnb's meta graphs hold their SaverDef as a dict (and tfnb's save ops)
        self._tf_format = format == "tf" if format else not isinstance(saver_def, dict)
        self._max_to_keep = get("max_to_keep")
        self._keep_every = get("keep_checkpoint_every_n_hours") or 10000.0
        self._next_keep_time = time.time() + self._keep_every * 3600
        self._pad_step_number = pad_step_number
        self._last = []
        self._filename = "model"

    @property
    def last_checkpoints(self):
        return [p for p, _ in self._last]

    def set_last_checkpoints(self, last_checkpoints):
        self._last = [(p, None) for p in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        self._last = list(last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths):
        self._last = [(p, os.path.getmtime(p + ".index")) for p in checkpoint_paths
                      if checkpoint_exists(p)]

    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False, save_debug_info=False):
        """Writes the variables' values in ``sess``; returns the checkpoint prefix used."""
        if global_step is not None:
            step = global_step if isinstance(global_step, (int, np.integer)) else \
                sess.run(global_step)
            save_path = ("%s-%08d" if self._pad_step_number else "%s-%d") % (save_path, int(step))
        save_dir = os.path.dirname(os.path.abspath(save_path))
        if not os.path.isdir(save_dir):
            raise ValueError("Parent directory of %s doesn't exist, can't save." % save_path)
        remove_stale_temp_files(save_dir)
        # TF1's order: a complete checkpoint, then the state file naming it, then deletions;
        # a crash between any two steps leaves the state file naming a complete checkpoint.
        if self._save_t is not None:
            sess.run(self._save_t, {self._filename_t: save_path})
        else:
            write_checkpoint(save_path, {})
        if write_meta_graph:  # before the state file names the checkpoint (TF1: after)
            _write_meta_graph(save_path + "." + meta_graph_suffix, sess.graph, self)
        if write_state:
            last, doomed, next_keep_time = self._recorded(save_path)
            update_checkpoint_state(save_dir, save_path, [p for p, _ in last], latest_filename)
            self._last, self._next_keep_time = last, next_keep_time
            for old in doomed:
                _delete_checkpoint(old, meta_graph_suffix)
        return save_path

    def _recorded(self, path):
        """(checkpoints to keep, checkpoints to delete, next keep time) once ``path`` is saved."""
        now = time.time()
        last = [(p, t) for p, t in self._last if p != path] + [(path, now)]
        doomed, next_keep_time = [], self._next_keep_time
        if not self._max_to_keep:
            return last, doomed, next_keep_time
        while len(last) > self._max_to_keep:
            old, t = last.pop(0)
            if t is not None and t > next_keep_time - self._keep_every * 3600 and \
                    now >= next_keep_time:
                next_keep_time += self._keep_every * 3600
                continue  # kept for keep_checkpoint_every_n_hours
            doomed.append(old)
        return last, doomed, next_keep_time

    def restore(self, sess, save_path):
        """Assigns every saved variable from ``save_path``; on any error nothing changes.

        Raises:
            ValueError: ``save_path`` is None.
            NotFoundError: no such checkpoint, or a variable's name is missing from it.
            InvalidArgumentError: a dtype or shape differs.
            DataLossError: a truncated or corrupted checkpoint.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not checkpoint_exists(save_path):
            raise errors.NotFoundError(None, None, "The passed save_path is not a valid checkpoint: "
                                       "%s" % save_path)
        if self._restore_op is not None:
            sess.run(self._restore_op, {self._filename_t: save_path})

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False,
                          export_scope=None, clear_devices=False, clear_extraneous_savers=False,
                          strip_default_attrs=False, save_debug_info=False):
        """The meta graph with this Saver's SaverDef: TensorFlow's MetaGraphDef for a
        TensorFlow-format Saver (where protobuf is installed), else tfnb's."""
        return export_meta_graph(filename, saver_def=self.to_proto(),
                                 collection_list=collection_list, as_text=as_text,
                                 graph=self._graph, clear_devices=clear_devices,
                                 format=self._meta_format())

    def _meta_format(self):
        """The format of this Saver's meta graphs: TensorFlow's needs protobuf."""
        from ..io import protos
        if not self._tf_format:
            return "tfnb"
        if protos.available():
            return "tf"
        _LOG.warning("protobuf is not installed: the meta graph is written in tfnb's format (%s)",
                     protos.INSTALL_HINT)
        return "tfnb"

    def to_proto(self, export_scope=None):
        """The SaverDef: a ``tensorflow.SaverDef`` proto for a TensorFlow-format Saver (where
        protobuf is installed), else a dict with the same fields."""
        from ..io import protos
        if self._tf_format and protos.available():
            p = protos.load()
            return p.SaverDef(
                filename_tensor_name=self._filename_t.name,
                save_tensor_name=self._save_t.name if self._save_t is not None else "",
                restore_op_name=self._restore_op.name if self._restore_op is not None else "",
                max_to_keep=self._max_to_keep or 0,
                keep_checkpoint_every_n_hours=self._keep_every,
                version=SaverDef.V2)
        return {"filename_tensor_name": self._filename_t.name,
                "save_tensor_name": self._save_t.name if self._save_t is not None else "",
                "restore_op_name": self._restore_op.name if self._restore_op is not None else "",
                "max_to_keep": self._max_to_keep,
                "keep_checkpoint_every_n_hours": self._keep_every,
                "version": SaverDef.V2}

    as_saver_def = to_proto


def _delete_checkpoint(prefix, meta_graph_suffix="meta"):
    """Deletes checkpoint ``prefix``: its index first (it no longer exists), then the rest."""
    d = os.path.dirname(os.path.abspath(prefix))
    base = os.path.basename(prefix)
    remove_quietly(prefix + ".index")
    data = re.compile(re.escape(base) + r"\.data-([0-9a-f]{16}|\d{5}-of-\d{5})$")
    for f in os.listdir(d):
        if data.match(f):
            remove_quietly(os.path.join(d, f))
    remove_quietly(prefix + "." + meta_graph_suffix)


def _write_meta_graph(filename, graph, saver):
    """``.meta`` (atomically): the graph, its collections and ``saver``'s SaverDef."""
    export_meta_graph(filename, saver_def=saver.to_proto(), graph=graph,
                      format=saver._meta_format())


# ----------------------------------------------------------------------------------------------
# Meta graphs
# ----------------------------------------------------------------------------------------------
def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None,
                      collection_list=None, as_text=False, graph=None, export_scope=None,
                      clear_devices=False, clear_extraneous_savers=False,
                      strip_default_attrs=False, save_debug_info=False, format=None,
                      **kwargs):  # noqa: A002 - tfnb's keyword
    """The graph with its collections (and ``saver_def``) as a meta graph; written to
    ``filename`` (atomically) if given.

    Args:
        graph: the graph (default: the default graph, or one rebuilt from ``graph_def``).
        saver_def: a SaverDef (``Saver.as_saver_def()``) to record.
        collection_list: the collections to write (default: all).
        as_text: write the text form.
        clear_devices: leave out device placements.
        format: tfnb's keyword: ``"tf"`` (the default where protobuf is installed, else
            ``"tfnb"``) gives TensorFlow's ``MetaGraphDef`` proto (:mod:`tfnb.io.tf_meta_graph`:
            a graph with ops TensorFlow lacks also carries tfnb's exact GraphDef in it);
            ``"tfnb"`` tfnb's GraphDef with collections (what earlier versions wrote).

    Returns:
        The MetaGraphDef proto, or tfnb's GraphDef.
    """
    from ..framework import graph_io
    from ..io import protos
    if format is None:
        format = "tf" if protos.available() else "tfnb"  # noqa: A001
    _check_format(format)
    if graph is None and graph_def is not None:
        from ..framework.graph import Graph
        graph = Graph()
        with graph.as_default():
            graph_io.import_graph_def(graph_def, name="", import_collections=True)
    graph = graph or get_default_graph()
    if format == "tf":
        from ..io import tf_meta_graph
        return tf_meta_graph.export_meta_graph(filename, graph, saver_def, collection_list,
                                               as_text, clear_devices)
    gd = graph_io.graph_to_def(graph)
    if clear_devices:
        for n in gd.node:
            n.device = ""
    if filename:
        data = gd.to_text().encode() if as_text else gd.SerializeToString()
        atomic_write(filename, data)
    return gd


def _file_head(path):
    """The first bytes of regular file ``path``; b"" for anything else (never blocks)."""
    import stat
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return b""
    try:
        return os.read(fd, 64) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(fd)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Rebuilds a saved graph (and its collections) in the default graph; returns a Saver.

    Reads TensorFlow's ``MetaGraphDef`` (a ``.meta`` file TensorFlow or tfnb's Saver wrote,
    binary or text, or the proto itself) and tfnb's own meta graphs (``format="tfnb"``); for
    TensorFlow's, the Saver runs the meta graph's own save/restore ops (its SaverDef).
    """
    from ..framework import graph_io
    from ..framework.graph_format import MAGIC
    if isinstance(meta_graph_or_file, str):
        head = _file_head(meta_graph_or_file)
        if head and not head.startswith(MAGIC[:len(head)]) and head.lstrip()[:1] != b"{":
            from ..io import tf_meta_graph
            data = read_small_file(meta_graph_or_file, "Meta graph %s" % meta_graph_or_file)
            return tf_meta_graph.import_meta_graph(data, clear_devices, import_scope,
                                                   kwargs.get("input_map"))
        gd = graph_io.read_graph_def(meta_graph_or_file)
    elif hasattr(meta_graph_or_file, "DESCRIPTOR"):
        from ..io import tf_meta_graph
        return tf_meta_graph.import_meta_graph(meta_graph_or_file, clear_devices, import_scope,
                                               kwargs.get("input_map"))
    else:
        gd = meta_graph_or_file
    graph_io.import_graph_def(gd, name=import_scope or "", import_collections=True,
                              clear_devices=clear_devices)
    vars_ = global_variables()
    if not vars_:
        return None
    return Saver()
