"""Every task grades its course's data as shipped (``fixtures/courses``), with no renaming."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from generators.jobs import plan
from grader.cli import app
from grader.errors import ModelMissingError
from grader.models import resolve
from grader.paths import fixtures_dir
from grader.report.json_schema import report_schema
from grader.submission import scan
from grader.submission.dreambench import parse_prompts_and_classes
from grader.tasks import load_task
from grader.testing.courses import BUILDERS, OFFLINE_FACES, build_course_fixtures
from grader.testing.courses import SHIPPED as COURSE_FOLDERS

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

COURSES = fixtures_dir() / "courses"
DLIB = ["--face-model", OFFLINE_FACES["face_model"], "--face-detector", OFFLINE_FACES["face_detector"]]

# task -> (submission, the data folder the course names, extra arguments); paths inside fixtures/courses/<task>.
SHIPPED = {
    task: (submission, data, DLIB if task == "genai2024-hw10" else [])
    for task, (submission, data) in COURSE_FOLDERS.items()
}


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)


def _check(submission: Path, task: str, data: Path, models: Path, extra: list[str], tmp_path: Path) -> dict:
    report = tmp_path / f"{task}.json"
    args = ["check", str(submission), "--task", task, "--data", str(data), "--models", str(models)]
    res = CliRunner().invoke(app, [*args, *extra, "--json", str(report)])
    assert res.exit_code in (0, 1), res.output
    return json.loads(report.read_text())


def test_committed_course_fixtures_match_their_builder(tmp_path):
    build_course_fixtures(tmp_path)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert built == sorted(p.relative_to(COURSES) for p in COURSES.rglob("*") if p.is_file())
    assert set(BUILDERS) == set(SHIPPED)
    for rel in built:
        if rel.suffix in (".png", ".jpg"):
            ours, committed = (np.asarray(Image.open(r / rel), dtype=np.int16) for r in (tmp_path, COURSES))
            # JPEG encoders may differ by a level or two between libjpeg builds; PNG is exact.
            assert np.abs(ours - committed).max() <= (0 if rel.suffix == ".png" else 3), rel
        else:
            assert (tmp_path / rel).read_bytes() == (COURSES / rel).read_bytes(), rel


@pytest.mark.parametrize("parent", [False, True], ids=["course-folder", "its-parent"])
@pytest.mark.parametrize("task", sorted(SHIPPED))
def test_every_task_grades_its_shipped_layout(task, parent, tiny_models, classifiers, tmp_path):
    submission, data, extra = SHIPPED[task]
    root = COURSES / task
    data_dir = (root / data).parent if parent else root / data
    if task == "dlcv2024-hw2-p1":
        extra = classifiers
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = _check(root / submission, task, data_dir, tiny_models, extra, tmp_path)
    jsonschema.validate(result, report_schema())  # every task's report meets the published schema
    assert result["verdict"] != "INCOMPLETE", result["problems"]
    assert not [p for p in result["problems"] if p["severity"] == "error"]
    assert all(s["n_images"] > 0 for s in result["subjects"])
    assert before == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}  # nothing renamed or written


def test_textual_inversion_reads_references_by_concept_key(tiny_models, tmp_path):
    root = COURSES / "dlcv2024-hw2-p3"
    result = _check(root / "output", "dlcv2024-hw2-p3", root / "hw2_data/textual_inversion", tiny_models, [], tmp_path)
    assert any(n.endswith("textual_inversion/0") for n in result["notes"])
    assert {s["subject"] for s in result["subjects"]} == {"0/0", "0/1", "1/0", "1/1"}


def test_textual_inversion_falls_back_to_src_image_and_says_so(tiny_models, tmp_path):
    data = tmp_path / "ti"
    shutil.copytree(COURSES / "dlcv2024-hw2-p3/hw2_data/textual_inversion", data)
    (data / "0").rename(data / "dog")  # src_image of concept 0
    result = _check(COURSES / "dlcv2024-hw2-p3/output", "dlcv2024-hw2-p3", data, tiny_models, [], tmp_path)
    assert result["verdict"] != "INCOMPLETE"
    assert any("src_image" in n and n.count(str(data / "dog")) for n in result["notes"])


# The published table's subjects and classes (the cats and dogs are the live subjects).
DREAMBENCH_CLASSES = {
    **dict.fromkeys(["backpack", "backpack_dog"], "backpack"),
    **dict.fromkeys(["bear_plushie", "grey_sloth_plushie", "wolf_plushie"], "stuffed animal"),
    "berry_bowl": "bowl",
    "can": "can",
    "candle": "candle",
    **dict.fromkeys(["cat", "cat2"], "cat"),
    "clock": "clock",
    **dict.fromkeys(["colorful_sneaker", "shiny_sneaker"], "sneaker"),
    **dict.fromkeys(["dog", "dog2", "dog3", "dog5", "dog6", "dog7", "dog8"], "dog"),
    **dict.fromkeys(["duck_toy", "monster_toy", "poop_emoji", "rc_car", "robot_toy"], "toy"),
    "fancy_boot": "boot",
    "pink_sunglasses": "glasses",
    "red_cartoon": "cartoon",
    "teapot": "teapot",
    "vase": "vase",
}


def test_dreambench_reads_the_published_table_and_prompt_lists(tmp_path):
    table = "\n".join(f"{s},{c}" for s, c in DREAMBENCH_CLASSES.items())
    objects = ",\n".join(f"'a {{0}} {{1}} object prompt {i}'.format(unique_token, class_token)" for i in range(25))
    live = ",\n".join(f"'a {{0}} {{1}} live prompt {i}'.format(unique_token, class_token)" for i in range(25))
    text = (
        f"Classes\n\nsubject_name,class\n{table}\n\n\nPrompts\n\nObject Prompts\n\nprompt_list = [\n{objects}\n]\n\n"
        f"Live Subject Prompts\n\nprompt_list = [\n{live}\n]\n"
    )
    path = tmp_path / "prompts_and_classes.txt"
    path.write_text(text)
    subjects = {s.name: s for s in parse_prompts_and_classes(path, load_task("dreambench").layout)}
    assert len(subjects) == 30
    live_subjects = {n for n, s in subjects.items() if "live" in s.prompts[0]}
    assert live_subjects == {"cat", "cat2", "dog", "dog2", "dog3", "dog5", "dog6", "dog7", "dog8"}
    assert all(len(s.prompts) == 25 for s in subjects.values())
    assert subjects["bear_plushie"].prompts[3] == "a sks stuffed animal object prompt 3"
    assert subjects["bear_plushie"].clip_texts[3] == "a stuffed animal object prompt 3"


def test_dreambench_clip_text_drops_the_unique_token(tiny_models, tmp_path):
    root = COURSES / "dreambench"
    result = _check(root / "results", "dreambench", root / "dataset", tiny_models, [], tmp_path)
    assert result["settings"]["text_templates"] == {"clip_t": "{prompt_without_token}"}
    assert any("prompts_and_classes.txt" in n for n in result["notes"])


def test_generate_plans_the_dreambench_layout_the_grader_reads(tmp_path):
    task = load_task("dreambench")
    jobs = plan(task, COURSES / "dreambench", token="zwx")
    assert {j.prompt for j in jobs if j.subject == "dog6"} == {
        "a zwx dog in the jungle",
        "a zwx dog wearing a red hat",
        "a wet zwx dog",
    }
    out = tmp_path / "generated"
    for job in jobs:
        (out / job.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(COURSES / "dreambench/results/dog6/0/0.png", out / job.path)
    subjects, problems = scan(task.layout, out, COURSES / "dreambench")
    assert not [p for s in subjects for p in s.problems] and all(p.severity == "note" for p in problems)
    assert sum(len(s.images) for s in subjects) == len(jobs) == 2 * 3 * 4


def test_windows_zip_with_backslash_names_grades_every_subject(tiny_models, tmp_path):
    root = COURSES / "ml2025-hw10"
    archive = tmp_path / "results.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((root / "results").rglob("*.jpg")):
            zf.write(path, str(path.relative_to(root)).replace("/", "\\"))
    result = _check(archive, "ml2025-hw10", root / "data", tiny_models, [], tmp_path)
    assert [s["n_images"] for s in result["subjects"]] == [15] * 6
    assert result["verdict"] != "INCOMPLETE"


def test_relative_local_base_is_a_folder_not_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "tiny-sd").mkdir(parents=True)
    (tmp_path / "models" / "tiny-sd" / "model_index.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    found = resolve("models/tiny-sd", tmp_path / "elsewhere", marker="model_index.json")
    assert found.source == "local directory" and found.path == Path("models/tiny-sd")
    (tmp_path / "not-a-model").mkdir()
    for local in ("not-a-model", "./missing/base"):
        with pytest.raises(ModelMissingError) as caught:
            resolve(local, tmp_path / "elsewhere", marker="model_index.json")
        assert "hf download" not in str(caught.value) and local in str(caught.value)


def test_a_problem_many_files_share_is_one_line(tiny_models, tmp_path):
    root = COURSES / "ml2025-hw10"
    args = ["check", str(root / "results"), "--task", "ml2025-hw10", "--data", str(root / "data")]
    res = CliRunner().invoke(app, [*args, "--models", str(tiny_models)])
    text = " ".join(res.output.split())
    assert "90 files: is 48x48, the task asks for 512x512 (e.g. object-1/0.jpg" in text
    assert text.count("the task asks for 512x512") == 1
