"""Identity removal: an ``Identity``/``StopGradient`` whose output is not fetched and that
runs on the device of its input is left out; its consumers read the input itself
(chains collapse). An Identity across devices is a copy the user asked for: it stays."""

_IDENTITIES = ("Identity", "StopGradient", "Snapshot")


def run(pg):
    for op in pg.ops:
        if op._op_def.name not in _IDENTITIES or not pg.removable(op):
            continue
        src = pg.inputs(op)[0]
        if src.dtype.name == "resource" or not pg.same_device(op, src._op):
            continue
        pg.replace(op, [src])
