"""The generated pages in a real browser: Debian's Chromium driven by Playwright.

Every test blocks the network: only ``file:`` and ``data:`` URLs load, except where a test
serves folium's CDN files from the installed Leaflet package to check the online page.
Screenshots go to ``tests/artifacts/`` (ignored by git) for a person to look at.

Without Chromium or Playwright these tests are skipped, except in CI (``URLINK_CI=1``),
where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from urlink.cli import main

CHROMIUM = os.environ.get("URLINK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EVIL = "<img src=x onerror=alert(1)>"


def _need(reason: str) -> None:
    if os.environ.get("URLINK_CI") == "1":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).is_file():
        _need(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


class Page:
    """A page with the network blocked, console errors and dialogs recorded."""

    def __init__(self, browser: Any, *, width: int = 1280, height: int = 800) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())

    def open(self, path: Path) -> Any:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("() => document.readyState === 'complete'")
        # wait for fitBounds' zoom animation to end, or clicks land on a moving canvas
        self.page.wait_for_function(
            f"() => ({_MAP}).every(m => !m._animatingZoom && !(m._panAnim && "
            "m._panAnim._inProgress))"
        )
        self.page.wait_for_timeout(300)
        return self.page

    def shot(self, name: str, **kwargs: Any) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), **kwargs)

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser: Any) -> Any:
    p = Page(browser)
    yield p
    p.close()


@pytest.fixture(scope="module")
def offline_maps(tmp_path_factory, root) -> Path:
    """``urlink map --offline --strategy`` on a copy of the Huangyan scenario."""
    work = tmp_path_factory.mktemp("browser")
    out = work / "maps"
    args = [
        "map",
        str(root / "scenarios" / "huangyan.toml"),
        "--out",
        str(out),
        "--offline",
        "--strategy",
        "changtan-lakeside-road",
        "--lang",
        "both",
        "-q",
    ]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def evil_map(tmp_path_factory) -> Path:
    """A small offline map whose zone, model and source texts are script."""
    import geopandas as gpd
    import pandas as pd
    from shapely import box

    from urlink.outputs.maps import map_linkages, save_map

    zones = gpd.GeoDataFrame(
        {
            "name": [EVIL, "南城街道", "椒江区"],
            "name_en": [EVIL, "Nancheng", "Jiaojiang"],
            "level": ["township", "township", "county"],
            "township_code": ["331003001", "331003002", None],
            "county_code": ["331003", "331003", "331002"],
            "typology": ["urban", "rural", "peri-urban"],
            "typology_reason": [EVIL, "far", "near"],
            "population": [100.0, 50.0, 800.0],
            "population_source": [EVIL, "estimate: x", "census"],
            "seat_lon": [121.05, 121.15, 121.35],
            "seat_lat": [28.55, 28.55, 28.55],
        },
        index=["331003001", "331003002", "331002"],
        geometry=[
            box(121.0, 28.5, 121.1, 28.6),
            box(121.1, 28.5, 121.2, 28.6),
            box(121.2, 28.5, 121.5, 28.6),
        ],
        crs="EPSG:4326",
    )
    flows = pd.DataFrame(
        {
            "origin": ["331003001", "331002", "331003002"],
            "destination": ["331002", "331003001", "331002"],
            "flow_type": ["people", "people", "goods"],
            "volume": [100.0, 50.0, 2.0],
            "unit": ["persons/day", "persons/day", "t/day"],
            "model": [EVIL] * 3,
            "source": ["modelled"] * 3,
            "crosses": ["county"] * 3,
        }
    )
    path = tmp_path_factory.mktemp("evil") / "evil.html"
    save_map(map_linkages(zones, flows, tiles=None, lang="en"), path, offline=True)
    return path


_MAP = "Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k)).map(k => window[k])"


def _flow_count(p: Any, colour: str, index: int = 0) -> int:
    return int(
        p.evaluate(
            f"""() => {{
            const m = ({_MAP})[{index}];
            return Object.values(m._layers).filter(
                l => l.feature && l.feature.properties.c === {colour!r}).length; }}"""
        )
    )


def _toggle(p: Any, label: str) -> None:
    p.locator(".leaflet-control-layers-overlays label", has_text=label).first.locator(
        "input"
    ).click()


def test_offline_map_renders_with_the_network_blocked(page, offline_maps):
    p = page.open(offline_maps / "map.html")
    p.wait_for_selector(".leaflet-container")
    assert p.evaluate("() => typeof L === 'object' && L.version") == "1.9.4"
    n_layers = p.evaluate(f"() => Object.keys(({_MAP})[0]._layers).length")
    assert n_layers > 100  # zones, boundaries, seats and flows are on the map
    assert p.locator(".urlink-seat").count() == 19  # every township seat is labelled
    assert p.get_by_text("Voronoi approximations").count() >= 1
    page.shot("map_offline.png")
    assert page.errors == []
    assert page.external() == []  # nothing was even tried


def test_each_flow_layer_toggles(page, offline_maps):
    from urlink.outputs.maps import FLOW_COLOURS

    p = page.open(offline_maps / "map.html")
    labels = p.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for ftype, text in (
        ("people", "People"),
        ("goods", "Goods"),
        ("capital", "Capital"),
        ("ecosystem", "Ecosystem services"),
    ):
        label = next(lab.strip() for lab in labels if f"/ {text}" in lab and ":" not in lab)
        before = _flow_count(p, FLOW_COLOURS[ftype])
        _toggle(p, label)
        after = _flow_count(p, FLOW_COLOURS[ftype])
        assert (before == 0) != (after == 0), (ftype, before, after)
        _toggle(p, label)
        assert _flow_count(p, FLOW_COLOURS[ftype]) == before
    page.shot("map_layers.png")
    assert page.errors == []


def test_popup_shows_script_text_as_text(page, evil_map):
    p = page.open(evil_map)
    # click the middle of the first zone (its name is the script)
    x, y = p.evaluate(
        f"""() => {{
        const m = ({_MAP})[0];
        const pt = m.latLngToContainerPoint([28.58, 121.03]);
        const box = m.getContainer().getBoundingClientRect();
        return [box.left + pt.x, box.top + pt.y]; }}"""
    )
    p.mouse.click(x, y)
    popup = p.wait_for_selector(".leaflet-popup-content")
    assert EVIL in popup.inner_text()
    assert p.locator(".leaflet-popup-content img").count() == 0
    assert p.locator("img[src=x]").count() == 0
    page.shot("map_escaped_popup.png")
    assert page.dialogs == []  # alert(1) never ran
    assert page.errors == []


def test_flow_popup_shows_volume_model_and_source(page, evil_map):
    p = page.open(evil_map)
    x, y = p.evaluate(
        f"""() => {{
        const m = ({_MAP})[0];
        const layer = Object.values(m._layers).find(
            l => l.feature && l.feature.properties.c && l.feature.properties.w > 5);
        const ll = layer.getLatLngs()[6];
        const pt = m.latLngToContainerPoint(ll);
        const box = m.getContainer().getBoundingClientRect();
        return [box.left + pt.x, box.top + pt.y]; }}"""
    )
    p.mouse.click(x, y)
    text = p.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "100 persons/day" in text and "modelled" in text and EVIL in text
    assert page.dialogs == [] and page.errors == []


def test_comparison_page_is_synced_and_shows_changes(page, offline_maps):
    assert sorted(x.name for x in offline_maps.iterdir()) == [
        ".urlink",  # urlink's marker: the files it wrote in the folder (#19)
        "compare_changtan-lakeside-road.html",
        "map.html",
    ]
    p = page.open(offline_maps / "compare_changtan-lakeside-road.html")
    maps = p.evaluate(f"() => ({_MAP}).length")
    assert maps == 2
    labels = " ".join(p.locator(".leaflet-control-layers-overlays label").all_inner_texts())
    assert "Travel time saved (person-min/day)" in labels
    assert "Δ 人口流动 / People" in labels and "Δ 货物流 / Goods" in labels  # flow changes
    assert p.get_by_text("District indicators").count() >= 1
    assert p.get_by_text("P(first)").count() >= 1
    before = p.evaluate(f"() => ({_MAP})[1].getCenter().lng")
    p.evaluate(f"() => ({_MAP})[0].panBy([200, 0], {{animate: false}})")
    after = p.evaluate(f"() => ({_MAP})[1].getCenter().lng")
    assert after > before  # the right map followed the left one
    page.shot("compare_offline.png")
    assert page.errors == [] and page.external() == []


def test_online_map_works_with_cdn_files_served_locally(browser, huangyan_run):
    """The default page (CDN assets, OSM tiles) initialises when those load."""
    from urlink.outputs.maps import _leaflet_css, _leaflet_js

    pg = Page(browser)
    blank_png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )

    def serve(route: Any) -> None:
        url = route.request.url
        if url.endswith("leaflet.js"):
            route.fulfill(body=_leaflet_js(), content_type="application/javascript")
        elif url.endswith("leaflet.css"):
            route.fulfill(body=_leaflet_css(), content_type="text/css")
        elif "tile.openstreetmap.org" in url:
            route.fulfill(body=blank_png, content_type="image/png")
        elif url.endswith(".js"):
            route.fulfill(body="", content_type="application/javascript")
        else:
            route.fulfill(body="", content_type="text/css")

    pg.context.unroute(re.compile(r"^(?!file:|data:)"))
    pg.context.route(re.compile(r"^https?:"), serve)
    try:
        p = pg.open(huangyan_run / "map.html")
        p.wait_for_selector(".leaflet-tile-loaded")
        assert "OpenStreetMap" in p.locator(".leaflet-control-attribution").inner_text()
        assert p.locator(".urlink-seat").count() == 19
        pg.shot("map_online.png")
        assert pg.errors == []
    finally:
        pg.close()


def test_report_prints_on_a4(browser, huangyan_run):
    a4 = Page(browser, width=794, height=1123)  # A4 at 96 dpi
    try:
        p = a4.open(huangyan_run / "report.html")
        assert p.evaluate("() => document.querySelectorAll('svg').length") >= 2
        overflow = p.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the report is {overflow} px wider than an A4 page"
        a4.shot("report_a4.png")
        pdf = p.pdf(format="A4", print_background=True)
        n_pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 3 <= n_pages <= 40, n_pages
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report.pdf").write_bytes(pdf)
        assert a4.errors == [] and a4.external() == []
    finally:
        a4.close()


def test_artifacts_are_ignored_by_git(root):
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    import subprocess

    res = subprocess.run(
        ["git", "check-ignore", "-q", "tests/artifacts/x.png"], cwd=root, check=False
    )
    assert res.returncode == 0
