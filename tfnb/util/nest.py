"""Nested structures (lists, tuples, namedtuples, dicts) flattened to lists and rebuilt.

Objects with ``_flat_tensors()`` / ``_from_flat(tensors)`` (e.g. TensorArray) flatten to
their tensors, so they can be loop variables or function results.
"""

__all__ = ["flatten", "pack_sequence_as", "map_structure", "assert_same_structure", "is_sequence"]


def is_sequence(x):
    return isinstance(x, (list, tuple, dict)) or hasattr(x, "_flat_tensors")


def flatten(structure):
    """The leaves of ``structure`` in a fixed order (dicts by sorted key)."""
    if hasattr(structure, "_flat_tensors"):
        return list(structure._flat_tensors())
    if isinstance(structure, dict):
        out = []
        for k in sorted(structure):
            out.extend(flatten(structure[k]))
        return out
    if isinstance(structure, (list, tuple)):
        out = []
        for s in structure:
            out.extend(flatten(s))
        return out
    return [structure]


def _pack(structure, it):
    if hasattr(structure, "_flat_tensors"):
        n = len(structure._flat_tensors())
        return structure._from_flat([next(it) for _ in range(n)])
    if isinstance(structure, dict):
        vals = {k: _pack(structure[k], it) for k in sorted(structure)}
        return type(structure)((k, vals[k]) for k in structure)
    if isinstance(structure, (list, tuple)):
        vals = [_pack(s, it) for s in structure]
        if hasattr(structure, "_fields"):
            return type(structure)(*vals)
        return type(structure)(vals)
    return next(it)


def pack_sequence_as(structure, flat):
    """Rebuilds ``structure`` with the leaves taken in order from ``flat``."""
    flat = list(flat)
    it = iter(flat)
    out = _pack(structure, it)
    rest = sum(1 for _ in it)
    if rest:
        raise ValueError("Structure had %d leaves, but flat sequence had %d"
                         % (len(flat) - rest, len(flat)))
    return out


def map_structure(fn, *structures):
    flats = [flatten(s) for s in structures]
    for f in flats[1:]:
        if len(f) != len(flats[0]):
            raise ValueError("structures have different numbers of leaves: %d vs %d"
                             % (len(flats[0]), len(f)))
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])


def _shape_of(x):
    if hasattr(x, "_flat_tensors"):
        return (type(x).__name__, len(x._flat_tensors()))
    if isinstance(x, dict):
        return (type(x).__name__, tuple((k, _shape_of(x[k])) for k in sorted(x)))
    if isinstance(x, (list, tuple)):
        return ("seq", len(x), tuple(_shape_of(s) for s in x))
    return "leaf"


def assert_same_structure(a, b):
    if _shape_of(a) != _shape_of(b):
        raise ValueError("The two structures don't have the same nested structure.\n\nFirst "
                         "structure: %s\n\nSecond structure: %s" % (_describe(a), _describe(b)))


def _describe(x):
    if isinstance(x, (list, tuple)) and not hasattr(x, "_flat_tensors"):
        inner = ", ".join(_describe(s) for s in x)
        return "[%s]" % inner if isinstance(x, list) else "(%s)" % inner
    if isinstance(x, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, _describe(x[k])) for k in sorted(x))
    return getattr(x, "name", type(x).__name__)
