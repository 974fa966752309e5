"""The HTML report: one self-contained page per grade, checked as a file and in a real browser."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if str(attrs.get(key, "")).startswith(("http:", "https:", "//")):
                self.external.append(attrs[key])


@pytest.fixture(scope="module")
def ml2025_report(tmp_path_factory, grader_tiny_models) -> tuple[Path, Path]:
    from grader.testing.synthetic import build_ml2025_fixture

    root = tmp_path_factory.mktemp("html")
    data, submission = build_ml2025_fixture(root / "ml2025")
    page = root / "report.html"
    args = ["check", str(submission), "--task", "ml2025-hw10", "--data", str(data)]
    res = CliRunner().invoke(app, [*args, "--models", str(grader_tiny_models), "--html", str(page)])
    assert res.exit_code == 1, res.output  # random test models stay below the boss line
    return page, submission


def test_the_page_is_self_contained_and_shows_every_image(ml2025_report):
    page, _ = ml2025_report
    tags = _Tags()
    tags.feed(page.read_text("utf-8"))
    assert page.stat().st_size < 5_000_000
    assert not tags.external and tags.scripts == 0
    generated = [i for i in tags.images if "/" in i["alt"].split(":")[0]]
    assert len(generated) == 90 and all(i["src"].startswith("data:image/jpeg;base64,") for i in generated)
    assert len(tags.images) == 96  # and the six references
    assert all(i["alt"] for i in tags.images)
    text = page.read_text("utf-8")
    assert "FAIL - below the &#39;boss&#39; line" in text and "TEST MODELS" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_the_page_in_a_real_browser(ml2025_report, tmp_path):
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path, _ = ml2025_report
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        verdict = page.inner_text("#verdict")
        figures = page.locator("figure img").count()
        widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(page_path.as_uri())
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        browser.close()
    assert verdict == "FAIL - below the 'boss' line"
    assert figures == 90
    assert len(widths) == 96 and min(widths) > 0
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert overflow <= 1  # on a phone wide tables scroll inside themselves; the page does not


def _caption_scores(captions: list[str], label: str) -> list[float]:
    return [float(re.search(rf"{label} (-?[0-9.]+)", c).group(1)) for c in captions]


def test_images_come_worst_first_by_the_failing_metric_in_a_browser(ml2025_report):
    """DINO passes and CLIP-T fails on the test models: the images are ordered by CLIP-T, lowest first."""
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path, _ = ml2025_report
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(page_path.as_uri())
        first = page.locator("section").first
        heading = first.locator("h3", has_text="Generated images").inner_text()
        captions = first.locator("figcaption").all_inner_texts()
        browser.close()
    assert heading == "Generated images, worst first by CLIP-T (the lowest margin)"
    clip = _caption_scores(captions, "CLIP-T")
    assert len(clip) == 15 and clip == sorted(clip)
    dino = _caption_scores(captions, "DINO")
    assert dino != sorted(dino)  # not the DINO order the page used to show


def test_the_user_chooses_the_order(ml2025_report, grader_tiny_models, tmp_path):
    _, submission = ml2025_report
    args = ["check", str(submission), "--task", "ml2025-hw10", "--data", str(submission.parent / "data")]
    args += ["--models", str(grader_tiny_models), "--per-image"]
    for order, label in (("dino", "DINO"), ("file", None)):
        page = tmp_path / f"{order}.html"
        res = CliRunner().invoke(app, [*args, "--sort-by", order, "--html", str(page)], env={"COLUMNS": "200"})
        assert res.exit_code == 1, res.output
        text = page.read_text("utf-8")
        section = text[text.index("<section") : text.index("</section>")]
        files = re.findall(r"<figcaption><strong>([^<]+)</strong>", section)
        rows = [line.split() for line in res.output.splitlines() if line.startswith("│ object-1 ")]
        console_files = [row[3] for row in rows if len(row) > 3 and row[3].startswith("object-1/")]
        assert console_files == files  # the console and the page agree
        if label is None:
            assert "Generated images, in file order" in text and files == sorted(files, key=lambda f: int(f[9:-4]))
        else:
            scores = _caption_scores(re.findall(r"<figcaption>(.*?)</figcaption>", section, re.S), label)
            assert scores == sorted(scores) and f"worst first by {label}</h3>" in text
    res = CliRunner().invoke(app, [*args, "--sort-by", "sharpness"])
    assert res.exit_code == 2 and "--sort-by 'sharpness'" in res.output


def _zipped_page(submission: Path, models: Path, root: Path) -> Path:
    archive = shutil.make_archive(str(root / "submission"), "zip", submission)
    page = root / "report.html"
    args = ["check", archive, "--task", "ml2025-hw10", "--data", str(submission.parent / "data")]
    res = CliRunner().invoke(app, [*args, "--models", str(models), "--html", str(page)])
    assert res.exit_code == 1, res.output
    return page


@pytest.fixture(scope="module")
def zipped_report(tmp_path_factory, ml2025_report, grader_tiny_models) -> Path:
    return _zipped_page(ml2025_report[1], grader_tiny_models, tmp_path_factory.mktemp("zipped"))


def _full_size_images(page: Path) -> list[dict]:
    tags = _Tags()
    tags.feed(page.read_text("utf-8"))
    return [i for i in tags.images if i["alt"].endswith("(full size)")]


def test_a_zipped_submission_carries_its_originals_for_full_size_views(
    zipped_report, ml2025_report, grader_tiny_models, tmp_path, monkeypatch
):
    from grader.report import html

    full = _full_size_images(zipped_report)
    assert len(full) == 90 and all(i["src"].startswith("data:image/png;base64,") for i in full)
    assert zipped_report.stat().st_size < 5_000_000
    monkeypatch.setattr(html, "FULL_SIZE_BUDGET", 1000)  # over the budget: no originals, and the page says so
    heavy = _zipped_page(ml2025_report[1], grader_tiny_models, tmp_path)
    assert _full_size_images(heavy) == [] and "unzip it and grade the folder" in heavy.read_text("utf-8")


def test_the_full_size_view_opens_in_a_real_browser(zipped_report, tmp_path):
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(zipped_report.as_uri())
        hidden = page.locator(".lightbox").first.is_visible()
        page.locator("figure a").first.click()
        opened = page.locator(".lightbox:target img")
        # The click changes the URL's fragment; the overlay shows and its lazy image loads a moment later.
        opened.wait_for(state="visible", timeout=10_000)
        page.wait_for_function("() => document.querySelector('.lightbox:target img').complete", timeout=10_000)
        shown, width = opened.is_visible(), opened.evaluate("i => i.naturalWidth")
        page.screenshot(path=str(tmp_path / "full-size.png"))
        page.locator(".lightbox:target").click()  # a click anywhere closes it
        closed = page.locator(".lightbox:target").count() == 0
        browser.close()
    assert not hidden and shown and width > 0 and closed
