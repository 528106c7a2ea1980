"""The front-end files parse: each widget module imports under node, the static script loads."""
import json
import shutil
import subprocess

import pytest

from tfnb.notebook.graph_draw import extension_dir

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

MODULES = ["graph_explorer.js", "step_timeline.js", "training_monitor.js", "summary_viewer.js"]


@pytest.mark.parametrize("name", MODULES)
def test_widget_module_imports_and_exports_render(name):
    path = "%s/%s" % (extension_dir(), name)
    script = ("import(%s).then(m => console.log(typeof m.default.render))"
              ".catch(e => { console.log('ERR ' + e.message); process.exit(1); })"
              % json.dumps(path))
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "function", out.stdout + out.stderr


def test_static_script_parses():
    out = subprocess.run(["node", "--check", "%s/graph_static.js" % extension_dir()],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
