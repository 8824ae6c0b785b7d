"""The published site of the tiny walk in a real browser: headless Debian chromium (Playwright), file://.

Every page of ``build/tiny/site/`` is opened from disk, as a reader would double-click it: no
console error, no request leaves ``file://`` (the pages must read without a network), every
``<img>`` has loaded (``naturalWidth > 0``) and is not blank (its pixels, decoded with PIL,
vary), and every link of the landing page resolves to an existing file (and anchor). Screenshots
of the landing page and of one KROSS and one ROLES page go to ``<build>/site_screenshots/``.

The same requirements as ``test_browser_explore.py`` (``/usr/bin/chromium``, the ``playwright``
package): skipped without them unless ``CI`` is set.
"""
from __future__ import annotations

import base64
import io
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from test_browser_explore import CHROMIUM, CHROMIUM_ARGS, _requirements

SCREENSHOTS = ("index", "03_kmos_sizes", "08_ldss3_detect")


def _pixels_vary(data: bytes) -> float:
    """Standard deviation of an image's grey levels (0 for a blank image)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return float(np.asarray(im.convert("L"), float).std())


def _image_bytes(src: str, page_url: str) -> bytes:
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    path = Path(unquote(urlparse(src).path))
    assert path.is_file(), f"{page_url}: image {src} is not a file"
    return path.read_bytes()


@pytest.fixture(scope="module")
def site(tiny_walk):
    _, build, _ = tiny_walk
    index = build / "site" / "index.html"
    assert index.is_file()
    return build / "site"


def test_site_pages_in_chromium(site):
    _requirements()
    from playwright.sync_api import sync_playwright

    pages = sorted(site.glob("*.html"))
    assert site / "index.html" in pages and len(pages) >= 12
    shots = site.parent / "site_screenshots"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            errors, remote = [], []
            page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
            page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            n_images = 0
            for html in pages:
                page.goto(html.as_uri())
                page.wait_for_load_state("load")
                # lazy thumbnails: scroll through the page so that every image is fetched
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=30_000)
                images = page.eval_on_selector_all(
                    "img", "els => els.map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth}))")
                for img in images:
                    assert img["w"] > 0, f"{html.name}: image not loaded: {img['src'][:80]}"
                    std = _pixels_vary(_image_bytes(img["src"], html.name))
                    assert std > 1.0, f"{html.name}: blank image {img['src'][:80]} (grey-level std {std:.2f})"
                n_images += len(images)
                if html.stem in SCREENSHOTS:
                    page.evaluate("window.scrollTo(0, 0)")
                    page.screenshot(path=str(shots / f"{html.stem}.png"))
            assert not errors, f"console errors: {errors}"
            assert not remote, f"pages request the network: {sorted(set(remote))[:5]}"
            assert n_images > 20
        finally:
            browser.close()
    for name in SCREENSHOTS:
        assert _pixels_vary((shots / f"{name}.png").read_bytes()) > 1.0


def test_landing_page_links_resolve(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:href|src)="([^"]+)"', index)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) > 20
    for link in local:
        target, _, anchor = link.partition("#")
        path = (site / unquote(target)).resolve()
        assert path.is_file(), f"index.html links to a missing file: {link}"
        if anchor:
            assert f'id="{anchor}"' in path.read_text(encoding="utf-8"), f"no anchor {anchor} in {target}"
    text = re.sub(r"<[^>]+>", " ", index)
    assert "Paper vs compendium" in text and "KROSS targets" in text   # the table of the run's products
    assert "arXiv:1601.04713" in text and "arXiv:1002.3170" in text
    for name in ("seeds", "package versions", "date", "total"):
        assert name in text, name


def test_explore_page_shows_a_static_figure_and_how_to_open_it_live(site):
    page = (site / "11_explore.html").read_text(encoding="utf-8")
    assert "jupyter lab notebooks/11_explore.ipynb" in page
    assert "application/vnd.jupyter.widget-view+json" not in page     # no blank widget placeholder
    assert page.count("<img") >= 1


def test_a_tiny_run_touches_no_tracked_file(tiny_walk_in_copy):
    repo, _, build, figures = tiny_walk_in_copy
    if repo is None:
        pytest.skip("git is not available: no repository copy to check")
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                            check=True, capture_output=True, text=True).stdout
    assert status == "", f"the run changed or added files git sees:\n{status}"
    assert (build / "products" / "paper_vs_compendium.ecsv").is_file()   # written, but with the products
    assert any(figures.glob("fig12_*.png"))
