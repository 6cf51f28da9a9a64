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
    """``urlink map --strategy`` (offline by default) on the Huangyan scenario."""
    work = tmp_path_factory.mktemp("browser")
    out = work / "maps"
    args = [
        "map",
        str(root / "scenarios" / "huangyan.toml"),
        "--out",
        str(out),
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
    _expand_panel(p)
    p.locator(".leaflet-control-layers-overlays label", has_text=label).first.locator(
        "input"
    ).click()


def _expand_panel(p: Any) -> None:
    """Open the layer panel if it starts collapsed (narrow screens)."""
    if p.locator(".leaflet-control-layers.urlink-collapsed").count():
        p.locator(".urlink-toggle").first.click()


_FOCUS = "(id) => id.length === 9 && id.startsWith('331003')"
"""Huangyan's township zones (the focus unit's zones)."""


def _zone_point(p: Any, zone_id: str, index: int = 0) -> tuple[float, float]:
    """Page coordinates of the middle of a zone (its Voronoi cell is convex)."""
    return tuple(
        p.evaluate(
            f"""() => {{
            const m = ({_MAP})[{index}];
            let out = null;
            m.eachLayer(l => {{ if (l.feature && l.feature.properties.zone_id === {zone_id!r}) {{
                const pt = m.latLngToContainerPoint(l.getBounds().getCenter());
                const box = m.getContainer().getBoundingClientRect();
                out = [box.left + pt.x, box.top + pt.y]; }} }});
            return out; }}"""
        )
    )


def _flows_drawn(p: Any, index: int = 0) -> list[dict[str, Any]]:
    """Every drawn (non-summed) flow line: ends, volume, width in px and visibility."""
    return list(
        p.evaluate(
            f"""() => {{
            const m = ({_MAP})[{index}];
            const out = [];
            m.eachLayer(l => {{ const f = l.feature;
                if (f && f.properties.t && !f.properties.agg && l._path) {{
                    out.push({{o: f.properties.o, d: f.properties.dd, v: f.properties.v,
                        w: parseFloat(l._path.getAttribute('stroke-width')),
                        shown: l._path.style.display !== 'none'}}); }} }});
            return out; }}"""
        )
    )


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


def test_zone_popup_gives_flow_totals_by_type(page, evil_map):
    p = page.open(evil_map)
    x, y = _zone_point(p, "331003002")  # Nancheng: 2 t of goods out, no people
    p.mouse.click(x, y)
    text = p.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "Goods: out 2 · in 0 t/day" in text and "People" not in text
    p.locator(".leaflet-popup-close-button").click()
    p.wait_for_selector(".leaflet-popup", state="detached")  # it fades out first
    x, y = _zone_point(p, "331003001")  # the zone named like a script
    p.mouse.click(x, y)
    text = p.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "People: out 100 · in 50 persons/day" in text and EVIL in text
    assert page.dialogs == [] and page.errors == []


def test_map_opens_on_the_focus_area_and_draws_what_a_person_needs(browser, offline_maps):
    for width, height in ((1600, 1000), (1024, 768)):
        pg = Page(browser, width=width, height=height)
        try:
            p = pg.open(offline_maps / "map.html")
            # the focus area's zones fill most of the view
            box = p.evaluate(
                f"""() => {{
                const m = ({_MAP})[0], focus = {_FOCUS};
                let b = null;
                m.eachLayer(l => {{ const f = l.feature;
                    if (f && f.properties.zone_id && focus(f.properties.zone_id) && l.getBounds)
                        {{ b = b ? b.extend(l.getBounds()) : L.latLngBounds(l.getBounds()); }} }});
                const a = m.latLngToContainerPoint(b.getNorthWest());
                const c = m.latLngToContainerPoint(b.getSouthEast());
                const s = m.getSize();
                return [c.x - a.x, c.y - a.y, s.x, s.y, a.x, a.y]; }}"""
            )
            w, h, vw, vh, left, top = box
            assert w >= 0.75 * vw or h >= 0.75 * vh, box
            assert left >= -2 and top >= -2 and left + w <= vw + 2 and top + h <= vh + 2, box
            # the largest flow inside the focus area is drawn at least 6 px wide
            flows = _flows_drawn(p)
            inside = [f for f in flows if len(f["o"]) == 9 and len(f["d"]) == 9 and f["shown"]]
            largest = max(inside, key=lambda f: f["v"])
            assert largest["w"] >= 6.0, largest
            # labels: visible ones never overlap; neighbouring units are labelled too (placed
            # again here: on a busy machine the page's own pass may not have run yet)
            p.evaluate(
                "() => Object.keys(window).filter(k => /^map_[0-9a-f]+_urlink$/.test(k))"
                ".forEach(k => window[k].placeLabels())"
            )
            rects = p.evaluate(
                """() => Array.from(document.querySelectorAll('.urlink-label'))
                .filter(e => e.style.visibility !== 'hidden')
                .map(e => { const r = e.getBoundingClientRect();
                            return [r.left, r.top, r.right, r.bottom, e.className]; })"""
            )
            for i, a in enumerate(rects):
                for b in rects[i + 1 :]:
                    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
            assert sum("urlink-seat" in r[4] for r in rects) >= 12
            assert any("urlink-unit" in r[4] for r in rects)
            # title, credits, a panel that collapses, a width key with units
            assert p.locator(".urlink-title").inner_text().startswith("Huangyan")
            credits = p.locator(".leaflet-control-attribution").inner_text()
            assert "GeoNames" in credits and "CC BY 4.0" in credits
            assert "persons/day" in p.locator(".urlink-box", has_text="Legend").inner_text()
            _expand_panel(p)
            assert p.locator(".leaflet-control-layers-list").is_visible()
            p.locator(".urlink-toggle").first.click()
            assert not p.locator(".leaflet-control-layers-list").is_visible()
            pg.shot(f"map_open_{width}.png")
            assert pg.errors == [] and pg.external() == []
        finally:
            pg.close()


def test_clicking_a_zone_shows_only_its_flows(page, offline_maps):
    p = page.open(offline_maps / "map.html")
    zone = "331003101"  # Ningxi
    x, y = _zone_point(p, zone)
    p.mouse.click(x, y)
    p.wait_for_selector(".leaflet-popup-content")
    flows = _flows_drawn(p)
    assert any(f["shown"] for f in flows)
    for f in flows:
        if zone not in (f["o"], f["d"]):
            assert not f["shown"], f
    assert "Ningxi" in p.locator(".urlink-box", has_text="Legend").inner_text()
    # the flows were rescaled to the selection: its largest flow is drawn widest
    mine = [f for f in flows if f["shown"]]
    assert max(f["w"] for f in mine) >= 11.9
    page.shot("map_zone_selected.png")
    # closing the popup shows all flows again
    p.locator(".leaflet-popup-close-button").click()
    p.wait_for_timeout(100)
    assert sum(f["shown"] for f in _flows_drawn(p)) > len(mine)
    assert page.errors == []


def test_a_zone_found_by_name_shows_only_its_flows(page, offline_maps):
    p = page.open(offline_maps / "map.html")
    p.locator("select.urlink-find").select_option("331003107")  # Yuanqiao
    p.wait_for_selector(".leaflet-popup-content")
    assert "Yuanqiao" in p.locator(".leaflet-popup-content").inner_text()
    flows = _flows_drawn(p)
    assert any(f["shown"] for f in flows)
    assert all(f["shown"] == ("331003107" in (f["o"], f["d"])) for f in flows if f["shown"])
    assert page.errors == []


def test_minimum_volume_slider_hides_small_flows(page, offline_maps):
    p = page.open(offline_maps / "map.html")
    before = sum(f["shown"] for f in _flows_drawn(p))
    p.locator(".urlink-slider").first.fill("60")
    after = sum(f["shown"] for f in _flows_drawn(p))
    assert 0 < after < before
    assert page.errors == []


def test_comparison_page_draws_the_strategy_and_switches(page, offline_maps):
    assert sorted(x.name for x in offline_maps.iterdir()) == [
        ".urlink",  # urlink's marker: the files it wrote in the folder (#19)
        "compare_changtan-lakeside-road.html",
        "map.html",
    ]
    p = page.open(offline_maps / "compare_changtan-lakeside-road.html")
    assert p.evaluate(f"() => ({_MAP}).length") == 1
    _expand_panel(p)
    labels = " ".join(p.locator(".leaflet-control-layers-base label").all_inner_texts())
    assert "Travel time saved (person-min/day)" in labels and "Baseline" in labels
    overlays = " ".join(p.locator(".leaflet-control-layers-overlays label").all_inner_texts())
    assert "Δ 人口流动 / People" in overlays and "Δ 货物流 / Goods" in overlays
    assert p.locator("select.urlink-find").count() == 1  # find a zone here too
    # the strategy itself: the new road, drawn and labelled
    assert p.locator("path.urlink-strategy-road").count() >= 1
    assert p.get_by_text("新建道路 / New road").count() == 1
    # indicators by name in both languages, numbers for people
    box = p.locator(".urlink-box", has_text="District indicators").text_content()
    assert "Mean time to a hospital" in box and "到医院平均时间" in box
    assert "pop_within" not in box and "e+" not in box
    # switch to an effect: its magnitudes legend shows
    p.locator(".leaflet-control-layers-base label", has_text="Travel time saved").first.locator(
        "input"
    ).click()
    legend = p.locator(".urlink-effect-legend:visible").inner_text()
    assert "Travel time saved" in legend and "…" in legend
    page.shot("compare_offline.png")
    assert page.errors == [] and page.external() == []


def test_online_map_works_with_cdn_files_served_locally(browser, tmp_path, root):
    """The ``--online`` page (CDN assets, OSM tiles) initialises when those load."""
    out = tmp_path / "online"
    scenario = str(root / "scenarios" / "huangyan.toml")
    assert main(["map", scenario, "--out", str(out), "--online", "-q"]) == 0
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
        p = pg.open(out / "map.html")
        p.wait_for_selector(".leaflet-tile-loaded")
        assert "OpenStreetMap" in p.locator(".leaflet-control-attribution").inner_text()
        assert p.locator(".urlink-seat").count() == 19
        pg.shot("map_online.png")
        assert pg.errors == []
    finally:
        pg.close()


def test_run_pages_need_no_network(browser, huangyan_run):
    """Every page ``urlink run`` writes works with the network blocked (offline default)."""
    pages = sorted(huangyan_run.glob("*.html"))
    assert len(pages) >= 3
    for path in pages:
        pg = Page(browser)
        try:
            p = pg.open(path) if path.name != "report.html" else pg.page
            if path.name == "report.html":
                p.goto(path.resolve().as_uri())
            else:
                assert p.evaluate("() => typeof L === 'object' && L.version") == "1.9.4"
            assert pg.errors == [], (path.name, pg.errors)
            assert pg.external() == [], (path.name, pg.external())
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
