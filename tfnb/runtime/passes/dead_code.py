"""Dead-code removal: ops the other rewrites left without a reader are not run.

Stateful and side-effect ops always stay (pruning already left out what the fetches and
targets do not need; only pure ops can become dead by a rewrite)."""


def run(pg):
    if not pg.fired:
        return  # pruning already left out everything the plan does not need
    needed = set()
    stack = []

    def need_tensor(t):
        t = pg.resolve(t)
        if t not in pg.feed_set and t not in pg.constants:
            stack.append(t._op)

    for t in pg.fetch_tensors:
        need_tensor(t)
    for op in pg.ops:
        odef = op._op_def
        if op in pg.targets or ((odef.stateful or odef.side_effects) and op not in pg.removed):
            stack.append(op)
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        needed.add(op)
        for t in pg.inputs(op):
            need_tensor(t)
        for c in op._control_inputs:
            if c in pg.members:
                stack.append(c)
    for op in pg.ops:
        if op not in needed and op not in pg.removed:
            pg.drop(op)
