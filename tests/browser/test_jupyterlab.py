"""tfnb's widgets in a real browser: JupyterLab on loopback, driven in headless Chromium.

The module starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, a scratch
root folder holding a copy of ``browser_demo.ipynb``), opens the notebook with Playwright
in the system Chromium (never a downloaded browser), runs all its cells and checks the
rendered page: the GraphExplorer widget draws the model's ops fitted to its output area, a
click on a collapsed name scope opens it (and a click on the cluster's title closes it),
search jumps to an op and hovering shows its shapes; the static drawing is laid out in the
page; the TrainingMonitor's bar reaches 100%, its smoothing and log scale toggle and nested
monitors sit side by side; a two-device session's placement view shows exactly its devices,
an op's assigned device and the placer's reason and a cross-device edge with its bytes; the
step timeline labels its boxes and draws Send/Recv arrows between lanes; and the summary
viewer draws a scalar chart, a histogram and an image of a real event file.

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


CPU0 = "/job:localhost/replica:0/task:0/device:CPU:0"
CPU1 = "/job:localhost/replica:0/task:0/device:CPU:1"


def _explorer(page):
    """The plain GraphExplorer (the placement view is a GraphExplorer with a panel)."""
    return page.locator(".tfnb-ge[data-rendered]").filter(
        has_not=page.locator(".tfnb-pv-devices")).first


def _placement(page):
    return page.locator(".tfnb-ge[data-rendered]").filter(has=page.locator(".tfnb-pv-devices"))


def _inside(inner, outer, slack=1.0):
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack and
            inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack and
            inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def test_graph_explorer_draws_the_ops(notebook_page):
    page = notebook_page
    ge = _explorer(page)
    ge.wait_for(timeout=UI_MS)
    for op in OPEN_OPS:
        node = ge.locator('g.node[data-op-name="%s"]' % op)
        assert node.count() == 1, op
        assert op.split("/")[-1] in node.text_content()
    assert ge.locator('g.cluster[data-cluster="dense"]').count() == 1
    assert ge.locator('g.node[data-scope="%s"]' % HIDDEN_SCOPE).count() == 1
    for op in HIDDEN_OPS:
        assert ge.locator('g.node[data-op-name="%s"]' % op).count() == 0, op
    # It opens fitted to its output area: every node inside the canvas, none cut off.
    canvas = ge.locator(".tfnb-ge-canvas").bounding_box()
    for node in ge.locator("g.node").all():
        assert _inside(node.bounding_box(), canvas), node.get_attribute("data-op-name")
    _shot(ge, "graph_explorer.png")


def test_graph_search_jumps_to_the_op_and_hover_shows_shapes(notebook_page):
    page = notebook_page
    ge = _explorer(page)
    ge.locator("input.tfnb-ge-search").fill("pred")
    ge.locator("input.tfnb-ge-search").press("Enter")
    sel = ge.locator('g.node.tfnb-selected[data-op-name="dense/pred"]')
    sel.wait_for(timeout=UI_MS)
    assert _inside(sel.bounding_box(), ge.locator(".tfnb-ge-canvas").bounding_box())
    assert "dense/pred" in ge.locator(".tfnb-ge-details").inner_text()
    ge.locator('g.node[data-op-name="dense/MatMul"]').hover()
    tip = page.locator("body > .tfnb-ge-tip")
    tip.wait_for(state="visible", timeout=UI_MS)
    text = tip.inner_text()
    assert "dense/MatMul (MatMul)" in text and "float32 [?,1]" in text, text
    box, view = tip.bounding_box(), page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"]
    _shot(page, "graph_explorer_hover.png")
    page.mouse.move(1, 1)


def test_clicking_a_collapsed_scope_opens_it(notebook_page):
    page = notebook_page
    ge = _explorer(page)
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


def _main_monitor(page):
    return page.locator('.tfnb-monitor[data-done="true"]').filter(has_text="browser demo")


def test_training_monitor_reaches_100_percent(notebook_page):
    page = notebook_page
    mon = _main_monitor(page)
    mon.wait_for(timeout=UI_MS)
    assert mon.get_attribute("data-progress") == "1"
    assert mon.get_attribute("data-steps") == "%d/%d" % (STEPS, STEPS)
    head = mon.locator(".tfnb-monitor-head").inner_text()
    assert "100%" in head and "%d/%d" % (STEPS, STEPS) in head and "it/s" in head, head
    fill = mon.locator(".tfnb-monitor-fill")
    assert fill.evaluate("(e) => e.style.width") == "100%"
    assert "done" in fill.get_attribute("class")
    assert mon.locator("svg.tfnb-monitor-chart").count() == 1  # train and validation loss
    assert "final loss" in _outputs_text(page)
    _shot(mon, "training_monitor.png")
    page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
    _shot(page, "notebook.png")


def test_training_monitor_smoothing_log_scale_and_series(notebook_page):
    page = notebook_page
    mon = _main_monitor(page)
    chart = mon.locator('svg.tfnb-monitor-chart[data-chart="loss"]')
    smooth = chart.locator('polyline.tfnb-monitor-smooth[data-series="loss"]')
    raw = chart.locator('polyline.tfnb-monitor-raw[data-series="loss"]')
    assert chart.get_attribute("data-smoothing") == "0.6"
    assert chart.locator('polyline.tfnb-monitor-smooth[data-series="validation/loss"]').count() == 1
    assert "validation" in chart.text_content()
    raw_points = raw.get_attribute("points")
    smoothed = smooth.get_attribute("points")
    assert raw_points and smoothed != raw_points
    _shot(mon, "training_monitor_smoothed.png")
    slider = mon.locator("input.tfnb-monitor-smoothing")
    slider.fill("0")  # smoothing off: the line is the raw values, no faint copy behind it
    page.wait_for_function("(e) => e.dataset.smoothing === '0'", arg=chart.element_handle(),
                           timeout=UI_MS)
    assert smooth.get_attribute("points") == raw_points and raw.count() == 0
    _shot(mon, "training_monitor_unsmoothed.png")
    slider.fill("0.95")
    page.wait_for_function("(e) => e.dataset.smoothing === '0.95'", arg=chart.element_handle(),
                           timeout=UI_MS)
    assert smooth.get_attribute("points") not in (raw_points, smoothed)
    mon.locator("input.tfnb-monitor-log").check()
    page.wait_for_function("(e) => e.dataset.log === 'true'", arg=chart.element_handle(),
                           timeout=UI_MS)
    assert "(log)" in chart.locator("text.tfnb-monitor-name").text_content()
    # Hover: a readout of both series at the step under the pointer.
    chart.hover(position={"x": 200, "y": 60})
    readout = chart.locator("text.tfnb-monitor-readout")
    assert readout.get_attribute("visibility") == "visible"
    assert readout.text_content().startswith("step ") and "validation" in readout.text_content()
    _shot(mon, "training_monitor_log_hover.png")


def test_nested_monitors_sit_side_by_side_in_one_output(notebook_page):
    page = notebook_page
    board = page.locator(".tfnb-monitor-board").filter(has_text="epochs")
    board.locator('.tfnb-monitor[data-done="true"]').first.wait_for(timeout=UI_MS)
    mons = board.locator(".tfnb-monitor")
    assert mons.count() == 2
    assert [m.get_attribute("data-position") for m in mons.all()] == ["0", "1"]
    assert "epochs" in mons.nth(0).inner_text() and "batches" in mons.nth(1).inner_text()
    a, b = mons.nth(0).bounding_box(), mons.nth(1).bounding_box()
    assert b["x"] > a["x"] + a["width"] - 1  # beside, not below
    _shot(board, "nested_monitors.png")


def test_placement_view_of_a_two_device_session(notebook_page):
    page = notebook_page
    pv = _placement(page)
    pv.wait_for(timeout=UI_MS)
    # Exactly the devices the step used, one legend entry each (canonical names).
    legend = [e.get_attribute("data-device") for e in
              pv.locator(".tfnb-ge-legend-item[data-device]").all()]
    assert [d for d in legend if d.startswith("/job:")] == [CPU0, CPU1], legend
    assert [e.get_attribute("data-device") for e in
            pv.locator(".tfnb-pv-devices tr[data-device]").all()] == [CPU0, CPU1]
    assert pv.locator('.tfnb-ge-key[data-key="moved"]').count() == 1
    assert pv.locator('.tfnb-ge-key[data-key="cross_device"]').count() == 1
    # The variable's lookup asked for CPU:1, runs on CPU:0 with pw: outlined, with the reason.
    read = pv.locator('g.node[data-op-name="tower/rows"]')
    assert read.get_attribute("data-moved") == "true"
    assert read.get_attribute("data-assigned") == CPU0
    read.click()
    details = pv.locator(".tfnb-ge-details")
    details.locator("text=yields to colocation with pw").wait_for(timeout=UI_MS)
    text = details.inner_text()
    assert CPU0 in text and "/device:CPU:1" in text, text
    # The cross-device edge of the looked-up rows: 16x16 float32 per step, its Send/Recv.
    edges = pv.locator("g.edge[data-cross-device]")
    assert edges.count() == 2
    value = pv.locator('g.edge[data-cross-device][data-tensors="tower/rows:0"]')
    assert value.get_attribute("data-bytes") == str(16 * 16 * 4)
    assert value.get_attribute("data-send").startswith("_send/")
    assert value.get_attribute("data-recv").startswith("_recv/")
    assert "1.0 KiB/step" in value.text_content()
    # The op table sorts by a click on a heading.
    pv.locator('.tfnb-pv-ops th[data-col="op"]').click()
    ops = [e.get_attribute("data-op") for e in pv.locator(".tfnb-pv-ops tr[data-op]").all()]
    assert ops == sorted(ops) and "tower/MatMul" in ops
    _shot(pv, "placement_view.png")


def test_step_timeline_labels_boxes_and_draws_send_recv_arrows(notebook_page):
    page = notebook_page
    tl = page.locator(".tfnb-timeline[data-rendered]")
    tl.wait_for(timeout=UI_MS)
    head = tl.locator(".tfnb-timeline-head").inner_text()
    assert "on 2 lanes" in head and "2 transfers" in head, head
    labels = [e.text_content() for e in tl.locator("text.tfnb-timeline-label").all()]
    # Box widths follow measured times: a name is shown whole where it fits, else cut with "…".
    ops = ("rows", "MatMul", "act", "ploss")
    assert any(t in ops for t in labels), labels
    # Cut names are prefixes of an op's (or of a tower/ transfer label's) name.
    assert all(t in ops or not t.endswith("…") or any(o.startswith(t[:-1]) for o in ops)
               or "tower/".startswith(t[:-1]) for t in labels if not t.startswith("tower/")), labels
    arrows = tl.locator("path.tfnb-timeline-arrow")
    assert arrows.count() == 2
    lanes = {(a.get_attribute("data-src-lane"), a.get_attribute("data-dst-lane"))
             for a in arrows.all()}
    assert lanes == {("0", "1"), ("1", "0")}, lanes
    # Hovering a box: the tooltip shows the op, inside the window (never clipped).
    tl.locator('rect.tfnb-timeline-op[data-op="tower/MatMul"]').hover()
    tip = page.locator("body > .tfnb-timeline-tip")
    tip.wait_for(state="visible", timeout=UI_MS)
    assert "tower/MatMul (MatMul)" in tip.inner_text()
    box, view = tip.bounding_box(), page.viewport_size
    assert 0 <= box["x"] and box["x"] + box["width"] <= view["width"]
    # Zoom in: the view narrows around the centre.
    before = tl.get_attribute("data-view")
    tl.locator("button.tfnb-timeline-zoom", has_text="+").click()
    page.wait_for_function("(b) => document.querySelector('.tfnb-timeline').dataset.view !== b",
                           arg=before, timeout=UI_MS)
    tl.locator("button.tfnb-timeline-zoom", has_text="fit").click()
    _shot(tl, "step_timeline.png")


def test_summary_viewer_draws_a_real_event_file(notebook_page):
    page = notebook_page
    viewer = page.locator(".tfnb-sv[data-version]")
    viewer.wait_for(timeout=UI_MS)
    assert "train" in viewer.locator(".tfnb-sv-runs").inner_text()
    chart = viewer.locator('svg.tfnb-sv-scalar[data-tag="loss"]')
    runs = [p.get_attribute("data-run") for p in chart.locator("polyline.tfnb-sv-smooth").all()]
    assert runs == ["train", "validation"], runs
    hist = viewer.locator('svg.tfnb-sv-histogram[data-tag="weights"]').first
    assert hist.locator("polyline[data-step]").count() == 6
    assert viewer.locator('svg.tfnb-sv-distribution[data-tag="weights"] polygon').count() >= 4
    image = viewer.locator('.tfnb-sv-image[data-tag="picture"]').first
    assert image.locator("img").evaluate("(i) => i.complete && i.naturalWidth") == 8
    assert image.get_attribute("data-step") == "5"
    image.locator("input.tfnb-sv-step").fill("2")  # the step slider
    assert image.get_attribute("data-step") == "2"
    _shot(viewer, "summary_viewer.png")
