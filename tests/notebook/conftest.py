"""Fixtures of the notebook-layer tests."""
import pytest

import tfnb as tf
from tfnb.runtime import eager, session


@pytest.fixture
def ip():
    """An IPython shell with ``%load_ext tfnb``; everything it set up is undone afterwards."""
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from tfnb.notebook import magics
    saved_mode = eager._eager_mode
    saved_stack = list(session._default_session_stack.stack)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "tfnb")
    try:
        yield shell
    finally:
        if "tf_graph" in shell.magics_manager.magics["line"]:
            shell.run_line_magic("unload_ext", "tfnb")
        InteractiveShell.clear_instance()
        eager._eager_mode = saved_mode
        magics.last_trace = None
        for entry in list(session._default_session_stack.stack):
            s = session._entry_session(entry)  # an InteractiveSession's entry may be weak
            if entry not in saved_stack and s is not None:
                s.close()
        tf.reset_default_graph()
