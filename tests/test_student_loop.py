"""The student's loop: a cached re-grade loads no model library and decodes nothing; `grader watch` re-grades."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from grader.cache import EmbeddingCache
from grader.grading import GradeOptions, Resources, grade
from grader.tasks import available_tasks, load_task
from grader.watch import watch

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

HEAVY = ("torch", "transformers", "sklearn", "deepface", "diffusers", "pandas")


def _cli(
    args: list[str], cache: Path, importtime: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "T2I_GRADER_CACHE": str(cache), "HF_HUB_OFFLINE": "1", **(env or {})}
    flags = ["-X", "importtime"] if importtime else []
    code = "import sys; from grader.cli import main; sys.argv[0] = 'grader'; main()"
    return subprocess.run(
        [sys.executable, *flags, "-c", code, *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_cached_regrade_imports_no_model_library(ml2025, tiny_models, tmp_path):
    args = ["check", str(ml2025 / "submission"), "--task", "ml2025-hw10", "--data", str(ml2025 / "data")]
    args += ["--models", str(tiny_models)]
    cold = _cli(args, tmp_path / "cache")
    assert cold.returncode in (0, 1), cold.stderr
    warm = _cli(args, tmp_path / "cache", importtime=True)
    assert warm.returncode == cold.returncode
    imported = set(re.findall(r"import time:\s+\d+ \|\s+\d+ \|\s+([\w.]+)$", warm.stderr, re.MULTILINE))
    assert "grader.grading.pipeline" in imported  # the hook saw the grade's imports
    assert not {m for m in imported if m.split(".")[0] in HEAVY}
    table = [line for line in warm.stdout.splitlines() if "object-" in line]
    assert table == [line for line in cold.stdout.splitlines() if "object-" in line]


def test_help_imports_neither_numpy_nor_pydantic(tmp_path):
    res = _cli(["--help"], tmp_path / "cache", importtime=True)
    assert res.returncode == 0
    imported = set(re.findall(r"\|\s+([\w.]+)$", res.stderr, re.MULTILINE))
    assert not {m for m in imported if m.split(".")[0] in ("numpy", "pydantic", "torch", *HEAVY)}


def test_generate_help_imports_no_model_library(tmp_path):
    code = "import sys; from generators.cli import entry; sys.argv[0] = 'generate'; entry()"
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, "run", "--help"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and "--adapter" in res.stdout, res.stderr
    imported = set(re.findall(r"\|\s+([\w.]+)$", res.stderr, re.MULTILINE))
    assert not {m for m in imported if m.split(".")[0] in HEAVY}  # typer itself brings pydantic to a command


def test_listing_tasks_again_skips_their_validation_until_a_file_changes(tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    task_file = tasks / "ml2025-hw10.yaml"
    shutil.copy(available_tasks()["ml2025-hw10"], task_file)

    def imported_by_listing() -> set[str]:
        res = _cli(["tasks"], tmp_path / "cache", importtime=True, env={"T2I_GRADER_TASKS": str(tasks)})
        assert res.returncode == 0 and "ml2025-hw10" in res.stdout, res.stderr
        return set(re.findall(r"\|\s+([\w.]+)$", res.stderr, re.MULTILINE))

    assert "grader.metrics" in imported_by_listing()  # first time: validated, rules and all
    again = imported_by_listing()
    assert "grader.tasks.schema" in again
    assert not {m for m in again if m.split(".")[0] in ("numpy", "PIL", "yaml") or m == "grader.metrics"}
    task_file.write_text(task_file.read_text().replace("description:", "description: Edited.", 1))
    assert "grader.metrics" in imported_by_listing()  # changed bytes: validated afresh


def test_a_cold_grade_decodes_each_image_once_and_a_cached_one_none(ml2025, tiny_models, tmp_path, decodes):
    task = load_task("ml2025-hw10")
    options, resources = GradeOptions(models_dir=tiny_models), Resources(EmbeddingCache(tmp_path / "e.sqlite"))
    first = grade(task, ml2025 / "submission", ml2025 / "data", options, resources=resources)
    files = [p.resolve() for folder in ("submission", "data/references") for p in (ml2025 / folder).rglob("*.*")]
    assert len(files) == 96  # 90 generated images (scanned, hashed, embedded by DINO and CLIP) and 6 references
    assert decodes == dict.fromkeys(files, 1)
    decodes.clear()
    resources.encoder_pool = {}
    again = grade(task, ml2025 / "submission", ml2025 / "data", options, resources=resources)
    assert not decodes
    assert not any(encoder.built for encoder in resources.encoder_pool.values())
    assert [s.metrics["dino"].value for s in again.subjects] == [s.metrics["dino"].value for s in first.subjects]


def _wait_for(buffer: io.StringIO, text: str, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in buffer.getvalue():
            return buffer.getvalue()
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in:\n{buffer.getvalue()}")


# watchfiles' default filter would drop every change under a folder named like .venv or .tox.
@pytest.mark.parametrize("under", ["", ".venv/course"], ids=["plain", "under-.venv"])
def test_watch_regrades_a_changed_image_and_says_what_moved(ml2025, tiny_models, tmp_path, under):
    if under:
        (tmp_path / under).mkdir(parents=True)
        ml2025 = Path(shutil.move(ml2025, tmp_path / under / ml2025.name))
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False)
    options, resources = GradeOptions(models_dir=tiny_models), Resources(EmbeddingCache(tmp_path / "e.sqlite"))
    stop = threading.Event()
    args = (load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", options, console)
    worker = threading.Thread(target=watch, args=args, kwargs={"stop": stop, "resources": resources}, daemon=True)
    worker.start()
    try:
        _wait_for(buffer, "watching")
        time.sleep(1.0)  # let the watcher settle before the change
        shutil.copyfile(ml2025 / "submission/object-2/3.png", ml2025 / "submission/object-1/0.png")
        text = _wait_for(buffer, "verdict:")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    after = text.split("changed: ", 1)[1]
    assert after.startswith("object-1/0.png")  # the image with its subject
    assert re.search(r"object-1/0\.png: re-scored \(DINO -?\d+\.\d\d, CLIP-T -?\d+\.\d\d\)", after)
    assert re.search(r"object-1 DINO: -?[\d.]+ -> -?[\d.]+", after)
    assert "object-2" not in after.split("verdict:")[0].replace("object-1/0.png", "")


def test_watch_lines_name_subjects_flags_and_why_the_verdict_changed(ml2025, tiny_models):
    import copy

    from grader.problems import Problem, Severity
    from grader.watch import describe_changes

    before = grade(
        load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", GradeOptions(models_dir=tiny_models)
    )
    after = copy.deepcopy(before)
    image = after.images[0]
    image.scores = {k: v + 1.0 for k, v in image.scores.items()}
    image.flags = ["copy of reference 1 (object-1.jpg)"]
    after.subjects[2].problems.append(Problem("object-3/7.png", "cannot decode", "object-3", Severity.ERROR))
    lines = describe_changes(before, after)
    rescored = next(line for line in lines if "re-scored" in line)
    assert re.fullmatch(
        r"object-1/0\.png: re-scored \(DINO -?\d+\.\d\d, CLIP-T -?\d+\.\d\d\) - copy of reference 1 \(object-1\.jpg\)",
        rescored,
    )
    assert lines[-1] == f"verdict: {before.verdict.value} -> INCOMPLETE: object-3/7.png: cannot decode (exit code 2)"
    # the same decimals as the console report: two for these scores, never a mix of formats
    numbers = re.findall(r"-?\d+\.\d+", " ".join(lines[:-1]))
    assert numbers and all(len(n.split(".")[1]) == 2 for n in numbers)
