"""The HTML reports opened in headless Chromium: visible text, zero console errors, no network,
readable without scripts, on a phone-sized screen and in print, and laid out so that nothing is
cut, clipped or split inside a word at 1280 px and at 390 px. Screenshots are kept for a person
to look at: in $GRADER_SCREENSHOTS when set (CI uploads it), else in pytest's temporary folder."""

import os
import re
from pathlib import Path

import pytest

from grader.outputs import files, self_check, store, summary
from tests.outputs.test_report_content import failing

# Every element that hides or scrolls what does not fit, and does not fit (text cut or a table
# clipped), and every table cell allowed to split a word.
LAYOUT = """(() => {
  const seen = (el) => el.tagName + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className ? '.' + el.className : '') + ': ' + el.textContent.trim().slice(0, 50);
  const clipped = [], split = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none') continue;
    const hides = ['hidden', 'clip', 'auto', 'scroll'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (hides && el.scrollWidth > el.clientWidth + 1) clipped.push(seen(el));
  }
  for (const cell of document.querySelectorAll('td, th')) {
    const style = getComputedStyle(cell);
    if (['break-all', 'break-word'].includes(style.wordBreak) || ['anywhere', 'break-word'].includes(style.overflowWrap)
        || style.hyphens === 'auto') split.push(seen(cell));
  }
  return {clipped, split, overflow: Math.max(0, document.documentElement.scrollWidth - window.innerWidth)};
})()"""
WIDTHS = {"desktop": (1280, 800, False), "phone": (390, 844, True)}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    if os.environ.get("GRADER_SCREENSHOTS"):
        folder = Path(os.environ["GRADER_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def pages(graded, tmp_path_factory):
    """Every page a reader opens: a student's report passing, failing and crashed, the
    instructor's, and the class summary (with a folder that was never graded)."""
    root = tmp_path_factory.mktemp("pages")
    files.write_all(failing(graded), root / "failing")
    (root / "never-graded").mkdir()
    class_page, _ = summary.write([graded["good"], root / "failing", graded["crash"], root / "never-graded"], root / "class")
    return {
        "report-passing": graded["good"] / "report.html",
        "report-failing": root / "failing" / "report.html",
        "report-crashed": graded["crash"] / "report.html",
        "report-instructor": graded["good"] / "report-instructor.html",
        "class-summary": class_page,
    }


def keep(folder, name: str, png: bytes) -> None:
    (folder / name).write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def clean(page) -> None:
    assert page.console_errors == [], page.console_errors
    assert page.requests == [], f"the report fetched {page.requests}"


@pytest.mark.parametrize("name", ["good", "crash"])
def test_student_report_reads_verdict_first_then_checks(browser, graded, name, screenshots):
    scored = store.load(graded[name])
    page = browser.open(graded[name] / "report.html")
    keep(screenshots, f"report-{name}.png", page.screenshot)
    clean(page)
    text = page.text
    verdict = f"{self_check.headline(scored)} — {scored.score:g} / {scored.max_score:g} points"
    assert verdict in text and text.index(verdict) < text.index("Criteria")
    for c in scored.criteria:
        if scored.released(c):
            assert c.name in text and f"{c.score:g} / {c.max_score:g}" in text
    for heading in (
        "Trainable parameters by module group",
        "IA3 key vectors",
        "IA3 value vectors",
        "IA3 feed-forward vectors",
        "classifier head",
        "frozen base",
        "Environment",
        "Budget used",
        "mindspore 2.7.0",
    ):
        assert heading in text, heading
    if name == "good":
        accuracy = scored.result.measurements["validation_accuracy"]
        assert "Validation accuracy" in text and f"{accuracy:.4f}".rstrip("0") in text
        assert "Held-out test" not in text
    else:
        assert "Log: the output around the error" in text and "ValueError: labels must be integers" in text
        assert "No metrics" in text


def test_instructor_report_adds_warnings_and_hidden_criteria(browser, graded, screenshots):
    scored = store.load(graded["good"])
    page = browser.open(graded["good"] / "report-instructor.html")
    keep(screenshots, "report-good-instructor.png", page.screenshot)
    clean(page)
    assert "Instructor view" in page.text
    for c in scored.criteria:
        assert c.name in page.text
    for warning in scored.warnings:
        assert warning.replace("`", "") in page.text.replace("`", "")


def test_report_on_a_phone_and_in_print(browser, graded, screenshots):
    page = browser.open(
        graded["crash"] / "report.html",
        width=390,
        height=844,
        mobile=True,
        probe="getComputedStyle(document.querySelector('table.stack tbody td')).display",
    )
    keep(screenshots, "report-crash-phone.png", page.screenshot)
    clean(page)
    assert page.overflow_px == 0, f"the page is {page.overflow_px}px wider than a phone screen"
    assert page.probe == "block"  # table rows stack into labelled lines on a narrow screen
    pdf = browser.print_pdf(graded["crash"] / "report.html")
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1


def test_class_summary(browser, graded, tmp_path, screenshots):
    missing = tmp_path / "never-graded"
    missing.mkdir()
    path, rows = summary.write([graded["good"], graded["crash"], missing], tmp_path / "class")
    scores = {row.student: row.scored.score for row in rows if row.scored}
    page = browser.open(path, javascript=False)  # readable with scripts off
    keep(screenshots, "summary.png", page.screenshot)
    clean(page)
    for expected in (
        "1 passed",
        "1 failed",
        "1 no results",
        "Score distribution",
        "Validation accuracy against the threshold",
        "Status counts",
        "Pass rate per criterion",
        "never-graded",
        "holds no scored.json",
    ):
        assert expected in page.text, expected
    first_cells = "Array.from(document.querySelectorAll('#students tbody tr td:first-child')).map(td => td.textContent.trim())"
    sorted_page = browser.open(path, before_text="document.querySelectorAll('#students th')[2].click()", probe=first_cells)  # Score
    clean(sorted_page)
    assert [name for name in sorted_page.probe if name in scores] == sorted(scores, key=scores.get), sorted_page.probe
    phone = browser.open(path, width=390, height=844, mobile=True)
    keep(screenshots, "summary-phone.png", phone.screenshot)
    clean(phone)
    assert phone.overflow_px == 0
    assert (tmp_path / "class" / "gradebook.csv").read_text().count("\n") == 1 + len(rows)  # one row per folder, graded or not


def test_summary_links_open_each_students_report(browser, graded, tmp_path):
    path, _ = summary.write([graded["good"], graded["crash"]], tmp_path / "class")
    html = path.read_text()
    for name in ("good", "crash"):
        href = re.search(rf'<a href="([^"]+)">{name}</a>', html).group(1)
        target = (path.parent / href).resolve()
        assert target == (graded[name] / "report-instructor.html").resolve()
        page = browser.open(target)
        clean(page)
        assert "Instructor view" in page.text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["report-passing", "report-failing", "report-crashed", "report-instructor", "class-summary"])
def test_every_page_fits_without_cutting_text(browser, pages, name, width, screenshots):
    pixels, height, mobile = WIDTHS[width]
    page = browser.open(pages[name], width=pixels, height=height, mobile=mobile, probe=LAYOUT)
    keep(screenshots, f"{name}-{pixels}px.png", page.screenshot)
    clean(page)
    assert page.overflow_px == 0 and page.probe["overflow"] == 0, f"{name} is {page.overflow_px}px wider than {pixels}px"
    assert page.probe["clipped"] == [], f"{name} at {pixels}px cuts or clips: {page.probe['clipped']}"
    assert page.probe["split"] == [], f"{name} at {pixels}px may split words in: {page.probe['split'][:5]}"
