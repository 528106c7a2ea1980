"""Executes the MNIST notebooks headless on the bundled real MNIST subset and checks accuracy."""
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NB_DIR = os.path.join(ROOT, "notebooks")

needs = [m for m in ("nbclient", "nbformat", "ipykernel", "mlxtend") if importlib.util.find_spec(m) is None]
pytestmark = [pytest.mark.skipif(bool(needs), reason="missing %s" % needs),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning")]


def _execute(name, steps, monkeypatch):
    import nbclient
    import nbformat
    monkeypatch.setenv("TFNB_MNIST_SOURCE", "mnist5k")
    monkeypatch.setenv("TFNB_TUTORIAL_STEPS", str(steps))
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": NB_DIR}}).execute()
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", ""))
    result = [line for t in text for line in t.splitlines() if line.startswith("RESULT ")]
    assert result, "the notebook printed no RESULT line:\n" + "".join(text)
    return json.loads(result[-1][len("RESULT "):]), "".join(text)


def test_mnist_softmax_notebook(monkeypatch):
    r, text = _execute("01_mnist_softmax.ipynb", 300, monkeypatch)
    assert "5,000 real MNIST" in r["source"]  # the notebook says which data it used
    assert r["last_loss"] < r["first_loss"]
    assert r["accuracy"] > 0.85, text


def test_mnist_deep_notebook(monkeypatch):
    r, text = _execute("02_mnist_deep.ipynb", 300, monkeypatch)
    assert "5,000 real MNIST" in r["source"]
    assert r["last_loss"] < r["first_loss"]
    assert r["accuracy"] > 0.80, text


def test_placement_notebook(monkeypatch):
    r, text = _execute("placement.ipynb", 1, monkeypatch)
    assert r["lstm_equal"] and r["towers_equal"], text
    assert len(r["devices_used"]) == 4
