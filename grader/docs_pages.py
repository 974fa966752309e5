"""The generated pages of the documentation site: the command-line reference, from the commands' own help, and one
page per task, from its task file. ``python -m grader.docs_pages docs`` writes them; a test keeps the committed
pages equal to what the code says, so the site never drifts from the commands and the task files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from grader.tasks.schema import Task

WIDTH = 99  # columns of the help text: below 100 the help is the plain layout, which reads as text in a page


def _leaf_commands(app: object) -> list[tuple[str, ...]]:
    """Every command path of a typer app, in the order its help lists them (e.g. ``("cache", "clear")``)."""
    import typer.main

    found: list[tuple[str, ...]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), typer.main.get_command(app))]  # type: ignore[arg-type]
    while stack:
        path, command = stack.pop(0)
        found.append(path)
        subcommands = getattr(command, "commands", {})
        stack[:0] = [((*path, name), sub) for name, sub in subcommands.items() if not sub.hidden]
    return found


def cli_reference() -> str:
    """Markdown: every command of ``grader`` and ``generate`` with its help as the command prints it."""
    from typer.testing import CliRunner

    from generators.cli import app as generate_app
    from grader.cli import app as grader_app

    parts = [
        "# Command-line reference\n",
        "Generated from the commands' own `--help` (`python -m grader.docs_pages docs`); every option is here.\n",
    ]
    for program, app in (("grader", grader_app), ("generate", generate_app)):
        for path in _leaf_commands(app):
            result = CliRunner().invoke(app, [*path, "--help"], prog_name=program, env={"COLUMNS": str(WIDTH)})
            if result.exit_code != 0:
                raise RuntimeError(f"{program} {' '.join(path)} --help failed: {result.output}")
            text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
            parts.append(f"## `{' '.join((program, *path))}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def task_page(task: Task) -> str:
    """Markdown: what the task grades, where its data and submission are, its lines and where they come from."""
    from grader.tasks.describe import describe

    lines = [f"# {task.name}: {task.title}\n", f"{task.description}\n"]
    lines.append(
        "```bash\n"
        f"grader check SUBMISSION --task {task.name} --data DATA\n"
        f"grader demo --task {task.name}   # its course example, offline\n"
        "```\n"
    )
    for title, items in describe(task):
        lines.append(f"## {title}\n")
        lines += [f"- {_markdown(item)}" for item in items]
        lines.append("")
    return "\n".join(lines)


def _markdown(text: str) -> str:
    """A line of plain text safe in a list item: angle brackets and underscores outside code are escaped."""
    out, code = [], False
    for part in text.split("`"):
        out.append(part if code else part.replace("<", "&lt;").replace("_", r"\_"))
        code = not code
    return "`".join(out)


def pages() -> dict[str, str]:
    """Every generated page by its path inside the docs folder."""
    from grader.tasks import available_tasks, load_task

    found = {"reference/cli.md": cli_reference()}
    for name in sorted(available_tasks()):
        found[f"tasks/{name}.md"] = task_page(load_task(name))
    return found


def write_pages(docs: Path) -> list[Path]:
    written = []
    for relative, text in pages().items():
        path = docs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for page in write_pages(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(page)
