"""The documentation site's generated pages equal what the commands and task files say, and every page is in its
navigation (the site itself is built with warnings as errors by ``tox -e docs``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from grader.docs_pages import pages
from grader.tasks import available_tasks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_the_generated_pages_are_current():
    stale = [path for path, text in pages().items() if (DOCS / path).read_text("utf-8") != text]
    assert not stale, f"regenerate with: python -m grader.docs_pages docs ({', '.join(stale)})"


def test_every_page_and_task_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def listed(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [page for item in node for page in listed(item)]
        if isinstance(node, dict):
            return [page for value in node.values() for page in listed(value)]
        return []

    nav = set(listed(config["nav"]))
    assert {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")} == nav
    assert {f"tasks/{name}.md" for name in available_tasks()} <= nav


def test_the_cli_reference_names_every_option_of_check():
    text = pages()["reference/cli.md"]
    section = text[text.index("## `grader check`") : text.index("## `grader watch`")]
    for option in ("--task", "--data", "--baseline", "--sort-by", "--per-image", "--html", "--gate"):
        assert option in section, option


def test_the_readme_keeps_to_what_it_is_for():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) < 120
    for page in ("docs/real-data.md", "docs/tasks/index.md", "docs/reference/cli.md", "docs/reference/api.md"):
        assert f"]({page})" in readme and (ROOT / page).is_file(), page
    assert "runwayml" not in readme + "".join(p.read_text("utf-8") for p in DOCS.rglob("*.md"))
