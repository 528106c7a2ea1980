"""Helpers of the training tests that read summaries (a module of its own, not conftest.py:
``from conftest import ...`` would find whichever conftest was imported first)."""


def scalar_values(events, tag):
    """[(step, value)] of the scalar summaries named ``tag``."""
    out = []
    for e in events:
        if e.HasField("summary"):
            for v in e.summary.value:
                if v.tag == tag:
                    out.append((e.step, v.simple_value))
    return out
