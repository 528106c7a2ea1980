"""Executes the translate notebook headless on its toy parallel corpus (real file format)."""
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NB_DIR = os.path.join(ROOT, "notebooks")

needs = [m for m in ("nbclient", "nbformat", "ipykernel", "matplotlib")
         if importlib.util.find_spec(m) is None]
pytestmark = [pytest.mark.skipif(bool(needs), reason="missing %s" % needs),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning")]


def test_translate_notebook_learns_the_toy_language(monkeypatch):
    import nbclient
    import nbformat
    monkeypatch.setenv("TFNB_TUTORIAL_STEPS", "300")
    nb = nbformat.read(os.path.join(NB_DIR, "translate.ipynb"), as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": NB_DIR}}).execute()
    text = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
    assert lines, "the notebook printed no RESULT line:\n" + text
    r = json.loads(lines[-1][len("RESULT "):])
    assert r["source"].startswith("toy parallel corpus in WMT format")
    assert r["legacy_losses"][1] < 0.8 * r["legacy_losses"][0], text   # sampled softmax
    assert r["losses"][1] < 0.2 * r["losses"][0], text
    # reversing + word-by-word dictionary; chance of an exact 2-5 word match is ~1e-3
    assert r["exact"] > 0.6, text
    assert r["typed_greedy"][0] == "chat voit chien grand le", text
    if r["bleu_greedy"] is not None:
        assert r["bleu_greedy"] > 50 and r["bleu_beam"] > 50, text
    assert os.path.exists(r["heatmap"])
