"""tfnb's widgets in a real browser: JupyterLab on loopback, driven in headless Chromium.

The module starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, a scratch
root folder holding a copy of ``browser_demo.ipynb``), opens the notebook with Playwright
in the system Chromium (never a downloaded browser), runs all its cells and checks the
rendered page: the GraphExplorer widget draws the model's ops, a click on a collapsed
name scope opens it (and a click on the cluster's title closes it), the static drawing is
laid out in the page, and the TrainingMonitor's bar reaches 100%.

Screenshots go to ``$TFNB_TEST_ARTIFACTS`` (default ``tests/browser/artifacts/``); their
paths are printed. Without Chromium, Playwright or JupyterLab the tests skip, unless
``TFNB_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once it installed Chromium) makes that a
failure. Run them alone with ``python -m pytest -m browser``.
"""
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.browser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NOTEBOOK = "browser_demo.ipynb"
ARTIFACTS = os.environ.get("TFNB_TEST_ARTIFACTS") or os.path.join(HERE, "artifacts")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
SERVER_START_S = 90      # JupyterLab's first start on a 2-core machine takes ~5-15 s
PAGE_LOAD_MS = 90_000    # the lab page, its extensions and the kernel
RUN_MS = 90_000          # all cells (the notebook itself runs in ~3 s)
UI_MS = 20_000           # one round trip: a click -> Python -> a new drawing
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# The notebook's model: the op names the drawings must hold.
OPEN_OPS = ["x", "y", "dense/MatMul", "dense/pred"]   # "dense" starts open
HIDDEN_SCOPE = "loss"                                 # starts collapsed
HIDDEN_OPS = ["loss/sub", "loss/Square", "loss/mse"]
STEPS = 80


def _missing_requirement():
    """Why the browser test cannot run here, or None."""
    for mod in ("playwright", "jupyterlab", "ipykernel", "anywidget", "ipywidgets"):
        if importlib.util.find_spec(mod) is None:
            return "the Python package %r is not installed (pip install -e '.[dev]')" % mod
    if _chromium() is None:
        return ("no Chromium found (apt-get install chromium, or set TFNB_CHROMIUM to the "
                "browser's path)")
    return None


def _chromium():
    for path in (os.environ.get("TFNB_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f)


def _api(base, token, path, method="GET"):
    req = urllib.request.Request(base + path, method=method,
                                 headers={"Authorization": "token " + token})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status


def _log_tail(path, n=4000):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()[-n:]


@pytest.fixture(scope="module")
def lab_server():
    """A JupyterLab server on loopback, stopped (kernels included) when the module ends."""
    why = _missing_requirement()
    if why:
        if os.environ.get("TFNB_REQUIRE_BROWSER") == "1":
            pytest.fail("TFNB_REQUIRE_BROWSER=1 but " + why)
        pytest.skip(why)
    tmp = tempfile.mkdtemp(prefix="tfnb-browser-")
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    shutil.copy(os.path.join(HERE, NOTEBOOK), root)
    settings = os.path.join(tmp, "lab-settings")
    # Render every cell (no virtual scrolling), so outputs exist in the DOM and screenshots
    # show them; and never fetch news or update checks from outside.
    _write_json(os.path.join(settings, "@jupyterlab", "notebook-extension",
                             "tracker.jupyterlab-settings"), {"windowingMode": "none"})
    _write_json(os.path.join(settings, "@jupyterlab", "apputils-extension",
                             "notification.jupyterlab-settings"),
                {"fetchNews": "false", "checkForUpdates": False})
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, TFNB_REPO=ROOT, JUPYTER_PLATFORM_DIRS="1",
               JUPYTER_CONFIG_DIR=os.path.join(tmp, "config"),
               JUPYTER_DATA_DIR=os.path.join(tmp, "data"),
               JUPYTER_RUNTIME_DIR=os.path.join(tmp, "runtime"),
               IPYTHONDIR=os.path.join(tmp, "ipython"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.allow_root=True",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port=%d" % port,
           "--ServerApp.port_retries=0", "--IdentityProvider.token=" + token,
           "--ServerApp.root_dir=" + root, "--ServerApp.terminals_enabled=False",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly",
           "--LabApp.user_settings_dir=" + settings,
           "--LabApp.workspaces_dir=" + os.path.join(tmp, "workspaces")]
    log_path = os.path.join(tmp, "jupyter.log")
    base = "http://127.0.0.1:%d" % port
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited with %s:\n%s" % (proc.returncode,
                                                                 _log_tail(log_path)))
            try:
                if _api(base, token, "/api/status") == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer within %d s:\n%s"
                            % (SERVER_START_S, _log_tail(log_path)))
            time.sleep(0.25)
        yield {"base": base, "token": token, "log": log_path, "tmp": tmp}
    finally:
        _stop_server(proc, base, token)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_server(proc, base, token):
    """Asks the server to shut down (it stops its kernels), then ends its process group."""
    if proc.poll() is None:
        try:
            _api(base, token, "/api/shutdown", method="POST")
        except (OSError, urllib.error.URLError):
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    proc.wait(timeout=10)


def _shot(target, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    target.screenshot(path=path)
    print("screenshot: %s" % path)
    return path


def _outputs_text(page):
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


@pytest.fixture(scope="module")
def notebook_page(lab_server):
    """The demo notebook open in headless Chromium, all its cells run."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="tfnb-chromium-")
    blocked = []

    def loopback_only(route):
        url = route.request.url
        if urllib.parse.urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 2400})
            try:
                ctx.route("**/*", loopback_only)
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                try:
                    _open_and_run(page, lab_server)
                except Exception:
                    _shot(page, "failure.png")
                    print("outputs:\n%s\npage errors: %s\nserver log:\n%s"
                          % (_outputs_text(page), errors, _log_tail(lab_server["log"])))
                    raise
                yield page
                assert not blocked, "the page asked for outside addresses: %s" % blocked
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _open_and_run(page, lab):
    t0 = time.monotonic()
    page.goto("%s/lab/tree/%s?token=%s" % (lab["base"], NOTEBOOK, lab["token"]),
              wait_until="domcontentloaded", timeout=PAGE_LOAD_MS)
    # JupyterLab exposes itself as window.jupyterapp (LabApp.expose_app_in_browser): wait for
    # the notebook panel and an idle kernel, then run every cell as the Run menu would.
    page.wait_for_function(
        """() => { const app = window.jupyterapp;
                   const w = app && app.shell.currentWidget;
                   const kernel = w && w.sessionContext && w.sessionContext.session
                                  && w.sessionContext.session.kernel;
                   return !!(kernel && w.context.isReady && w.sessionContext.isReady
                             && kernel.status === 'idle' && w.content.widgets.length); }""",
        timeout=PAGE_LOAD_MS)
    page.evaluate("""() => { const app = window.jupyterapp;  // more room for the screenshots
                             if (!app.shell.leftCollapsed) {
                               app.commands.execute('application:toggle-left-area'); } }""")
    t1 = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-OutputArea-output')].some(
                   (e) => e.innerText.includes('all cells ran')
                          || e.innerText.includes('Traceback'))""", timeout=RUN_MS)
    text = _outputs_text(page)
    assert "Traceback" not in text, text
    print("lab page ready in %.1f s, cells ran in %.1f s" % (t1 - t0, time.monotonic() - t1))


def test_graph_explorer_draws_the_ops(notebook_page):
    page = notebook_page
    ge = page.locator(".tfnb-ge[data-rendered]")
    ge.wait_for(timeout=UI_MS)
    for op in OPEN_OPS:
        node = ge.locator('g.node[data-op-name="%s"]' % op)
        assert node.count() == 1, op
        assert op.split("/")[-1] in node.text_content()
    assert ge.locator('g.cluster[data-cluster="dense"]').count() == 1
    assert ge.locator('g.node[data-scope="%s"]' % HIDDEN_SCOPE).count() == 1
    for op in HIDDEN_OPS:
        assert ge.locator('g.node[data-op-name="%s"]' % op).count() == 0, op
    _shot(ge, "graph_explorer.png")


def test_clicking_a_collapsed_scope_opens_it(notebook_page):
    page = notebook_page
    ge = page.locator(".tfnb-ge[data-rendered]")
    ge.locator("button.tfnb-ge-fit").click()
    ge.locator('g.node[data-scope="%s"]' % HIDDEN_SCOPE).click()
    ge.locator('g.cluster[data-cluster="%s"]' % HIDDEN_SCOPE).wait_for(timeout=UI_MS)
    for op in HIDDEN_OPS:
        ge.locator('g.node[data-op-name="%s"]' % op).wait_for(timeout=UI_MS)
    assert ge.locator('g.node[data-scope="%s"]' % HIDDEN_SCOPE).count() == 0
    # The click also selects the scope: its details fill the side panel.
    details = ge.locator(".tfnb-ge-details")
    assert HIDDEN_SCOPE in details.inner_text()
    _shot(ge, "graph_explorer_expanded.png")

    # A click on the cluster's title closes the scope again.
    ge.locator('g.cluster[data-cluster="%s"] a text' % HIDDEN_SCOPE).first.click()
    ge.locator('g.node[data-scope="%s"]' % HIDDEN_SCOPE).wait_for(timeout=UI_MS)
    assert ge.locator('g.cluster[data-cluster="%s"]' % HIDDEN_SCOPE).count() == 0
    assert ge.locator('g.node[data-op-name="loss/mse"]').count() == 0


def test_static_drawing_is_laid_out_in_the_page(notebook_page):
    drawing = notebook_page.locator('.tfnb-graph[data-rendered="true"]')
    drawing.wait_for(timeout=UI_MS)
    for op in HIDDEN_OPS:  # the notebook draws "loss" open and "dense" closed
        assert drawing.locator('g.node[data-op-name="%s"]' % op).count() == 1, op
    assert drawing.locator('g.node[data-scope="dense"]').count() == 1
    assert drawing.locator('g.node[data-op-name="dense/MatMul"]').count() == 0
    _shot(drawing, "static_drawing.png")


def test_training_monitor_reaches_100_percent(notebook_page):
    page = notebook_page
    mon = page.locator('.tfnb-monitor[data-done="true"]')
    mon.wait_for(timeout=UI_MS)
    assert mon.get_attribute("data-progress") == "1"
    assert mon.get_attribute("data-steps") == "%d/%d" % (STEPS, STEPS)
    head = mon.locator(".tfnb-monitor-head").inner_text()
    assert "100%" in head and "%d/%d steps" % (STEPS, STEPS) in head, head
    fill = mon.locator(".tfnb-monitor-fill")
    assert fill.evaluate("(e) => e.style.width") == "100%"
    assert "done" in fill.get_attribute("class")
    assert mon.locator("svg.tfnb-monitor-chart").count() == 1  # the loss chart
    assert "final loss" in _outputs_text(page)
    _shot(mon, "training_monitor.png")
    page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
    _shot(page, "notebook.png")
