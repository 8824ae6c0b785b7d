"""Notebook 11 in a real browser: JupyterLab on localhost, headless Debian chromium (Playwright).

The test builds its own products (the tiny walk of ``test_explore.py``), writes a copy of
``notebooks/11_explore.ipynb`` pointing at them (papermill ``prepare_only``), starts
``jupyter lab`` on a free localhost port with a random token, opens the copy, runs it with
the menu Run → Run All Cells, waits for the widgets, then moves the S/N(Hα) slider down
with the keyboard (as a reader would), just past the best galaxy it rejects, and checks that
the displayed number of Hα detections and the ΣSFR–Δ figure change. A screenshot of the
explorer goes to ``build/tests/explore.png``. The server is always terminated.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright`` package
(its driver only: no ``playwright install``). Without them the test is skipped, unless
the environment variable ``CI`` is set: then it fails.
"""
from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_explore import ROOT, build_tiny_walk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SCREENSHOT = ROOT / "build" / "tests" / "explore.png"   # build/: where runs write, never tracked
SERVER_START_TIMEOUT = 90      # s
RUN_ALL_TIMEOUT = 300_000      # ms: the whole notebook, first draw included
UPDATE_TIMEOUT = 60_000        # ms: one widget update seen in the page


def _steps_to_admit_one_more(spectra_path: Path, threshold: float, step: float = 0.5, floor: float = 1.0) -> int:
    """Slider steps (of ``step``, down to the slider's ``floor``) that take the S/N(Hα) threshold
    just below the best galaxy it now rejects."""
    import numpy as np
    from astropy.table import Table

    snr = np.asarray(Table.read(spectra_path)["snr_halpha"], float)
    below = snr[np.isfinite(snr) & (snr <= threshold) & (snr > floor)]
    assert below.size, f"the tiny survey has no galaxy with {floor} < S/N(Hα) ≤ {threshold} to admit"
    return int(np.floor((threshold - below.max()) / step)) + 1


def _requirements():
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright; its browser download is not needed)")
    if missing:
        msg = "real-browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"{msg}; CI is set, so this is a failure, not a skip")
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(proc, url: str, log: Path, timeout: float = SERVER_START_TIMEOUT):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_explore_notebook_in_jupyterlab(tmp_path_factory):
    _requirements()
    import papermill as pm
    from playwright.sync_api import sync_playwright

    walk = build_tiny_walk(tmp_path_factory.getbasetemp() / "explore_tiny_walk")
    root = tmp_path_factory.mktemp("lab_root")
    cfg = tmp_path_factory.mktemp("lab_config")
    nb = root / "explore_browser_test.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "11_explore.ipynb"), str(nb), prepare_only=True,
                        kernel_name="python3",
                        parameters=dict(preset="tiny", data_dir=str(walk["data"]), products_dir=str(walk["products"]),
                                        figures_dir=str(root / "figures")))
    # no "official Jupyter news?" toast, no restored workspace
    settings = cfg / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(cfg / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(cfg / "workspaces"), "JUPYTER_CONFIG_DIR": str(cfg / "jupyter"),
           "REDSHIFT1_ROOT": str(ROOT)}
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", f"--ServerApp.token={token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")            # containers and CI runners often run as root
    log = cfg / "jupyterlab.log"
    t0 = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_server(proc, f"http://127.0.0.1:{port}/api/status?token={token}", log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1700, "height": 2300})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/{nb.name}?token={token}")
                page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
                page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=90_000)

                # Run → Run All Cells
                page.locator(".jp-NotebookPanel .jp-Cell").first.click()
                page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
                page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
                page.wait_for_selector(".r1-explorer img.r1-panel-sigma_delta", timeout=RUN_ALL_TIMEOUT)
                page.get_by_text("written:").wait_for(timeout=RUN_ALL_TIMEOUT)   # the last cell ran
                page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=RUN_ALL_TIMEOUT)
                errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                tracebacks = [t for t in errors.all_inner_texts() if "Error" in t]
                assert not tracebacks, f"the notebook raised: {tracebacks}"

                n_halpha = page.locator(".r1-val-n_halpha")
                sd = page.locator("img.r1-panel-sigma_delta")
                before_text = n_halpha.inner_text()
                before_src = sd.get_attribute("src")
                before_png = sd.screenshot()
                slider = page.locator(".r1-snr-halpha-min")
                before_readout = slider.locator(".widget-readout").inner_text()

                # 1. move the S/N(Hα) slider down with the keyboard, in 0.5 steps, just past the best
                #    undetected galaxy of the tiny survey (from the walk's own table): more Hα detections
                steps = _steps_to_admit_one_more(walk["products"] / "kmos_spectra.ecsv", float(before_readout))
                slider.locator(".noUi-handle").first.focus()
                for _ in range(steps):
                    page.keyboard.press("ArrowLeft")
                page.wait_for_function(f"document.querySelector('.r1-val-n_halpha').innerText != "
                                       f"{json.dumps(before_text)}", timeout=UPDATE_TIMEOUT)
                after_text = n_halpha.inner_text()
                after_readout = slider.locator(".widget-readout").inner_text()
                assert float(after_readout) == pytest.approx(float(before_readout) - 0.5 * steps)
                n0, n1 = (int(t.split("/")[0]) for t in (before_text, after_text))
                assert n1 > n0, f"lowering S/N(Hα) from {before_readout} to {after_readout} should add detections"
                assert "snr_halpha_min" in page.locator(".r1-status").inner_text()

                # 2. pick the other main-sequence prescription: Δ(sSFR) moves, the ΣSFR–Δ figure is redrawn
                page.locator(".r1-ms-prescription select").select_option(label="Whitaker+12")
                page.wait_for_function(f"document.querySelector('img.r1-panel-sigma_delta').src != "
                                       f"{json.dumps(before_src)}", timeout=UPDATE_TIMEOUT)
                page.wait_for_function("document.querySelector('.r1-status').innerText.includes('ms_prescription')",
                                       timeout=UPDATE_TIMEOUT)
                after_png = sd.screenshot()
                assert after_png != before_png, "the ΣSFR–Δ figure did not change"

                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.locator(".r1-explorer").screenshot(path=str(SCREENSHOT))
            finally:
                browser.close()
    finally:
        _stop(proc)
    assert proc.returncode is not None
    assert SCREENSHOT.read_bytes()[:4] == b"\x89PNG"
    print(f"browser test: {time.monotonic() - t0:.1f} s from server start; S/N(Hα) {before_readout} → "
          f"{after_readout}: Hα detections {before_text} → {after_text}; "
          "MS → Whitaker+12: ΣSFR–Δ figure redrawn")
