"""Task files: the shipped ones validate; a broken one is refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from grader.errors import TaskFileError, UsageError
from grader.tasks import available_tasks, load_task

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
    raw["name"] = "task"
    mutate(raw)
    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_every_shipped_task_validates():
    tasks = available_tasks()
    assert "ml2025-hw10" in tasks
    for name in tasks:
        assert load_task(name).name == name


def test_ml2025_encodes_the_course_rules():
    task = load_task("ml2025-hw10")
    assert task.metrics["dino"].encoder.model == "facebook/dinov2-large"
    assert task.metrics["clip_t"].encoder.model == "openai/clip-vit-large-patch14-336"
    assert task.metrics["clip_t"].text_template == "{text_cond}"
    assert task.layout.images_per_subject == 15
    assert task.tiers["boss"].per_subject["object-4"] == {"dino": 68, "clip_t": 19}
    assert [e.kind for e in task.encoders()] == ["dinov2", "clip"]


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r["metrics"]["dino"]["encoder"].pop("model"), "metrics.dino.encoder.dinov2.model", "Field required"),
        (lambda r: r["metrics"]["dino"].update(rule="nearest"), "metrics.dino.rule", "unknown rule 'nearest'"),
        (lambda r: r["metrics"]["dino"]["encoder"].update(kind="siglip"), "metrics.dino.encoder", "unknown encoder"),
        (lambda r: r["layout"].update(images_per_subjekt=15), "layout.subject-folders.images_per_subjekt", "Extra"),
        (lambda r: r["metrics"]["clip_t"].pop("text_template"), "metrics.clip_t", "needs a text_template"),
        (
            lambda r: r["tiers"]["boss"]["per_subject"]["object-1"].update(fid=3),
            "tiers.boss.per_subject.object-1",
            "unknown metric",
        ),
    ],
)
def test_bad_task_file_names_the_field(tmp_path, mutate, field, message):
    with pytest.raises(TaskFileError) as info:
        load_task(str(_write(tmp_path, mutate)))
    text = str(info.value)
    assert str(tmp_path / "task.yaml") in text
    assert field in text and message in text


def test_unknown_task_lists_known_ones():
    with pytest.raises(UsageError, match=r"known tasks: .*ml2025-hw10"):
        load_task("ml2099")


def test_tasks_dir_from_environment(tmp_path, monkeypatch):
    _write(tmp_path, lambda r: r.update(name="my-course"))
    monkeypatch.setenv("T2I_GRADER_TASKS", str(tmp_path))
    assert load_task("my-course").name == "my-course"


def test_a_task_file_named_otherwise_than_its_task_is_refused(tmp_path):
    path = _write(tmp_path, lambda r: None)
    path = path.rename(tmp_path / "copy-of-task.yaml")
    with pytest.raises(TaskFileError, match=r"named 'task' but its file 'copy-of-task.yaml'"):
        load_task(str(path))


def test_validate_and_schema_commands(tmp_path):
    from typer.testing import CliRunner

    from grader.cli import app

    good = _write(tmp_path, lambda r: None)
    res = CliRunner().invoke(app, ["tasks", "validate", str(good)])
    assert res.exit_code == 0 and "valid:" in res.output
    bad = _write(tmp_path, lambda r: r.update(name="bad") or r["layout"].update(images_per_subjekt=15))
    res = CliRunner().invoke(app, ["tasks", "validate", str(bad)])
    assert res.exit_code == 2 and "layout.subject-folders.images_per_subjekt" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["tasks", "schema"])
    schema = json.loads(res.output)
    assert "zero_shot_correct" in schema["$defs"]["MetricSpec"]["properties"]["rule"]["enum"]
    assert {"DreamBenchLayout", "FaceEncoder", "TransformersEncoder"} <= set(schema["$defs"])


def test_per_subject_lines_of_data_named_subjects_are_checked_at_grade_time(tmp_path, tiny_models):
    from grader.grading import GradeOptions, grade
    from grader.testing.dlcv import build_dreambench

    raw = yaml.safe_load(available_tasks()["dreambench"].read_text())
    raw["name"] = "dreambench-lines"
    raw["tiers"] = {"mine": {"per_subject": {"dog": {"dino": -100}, "cat9": {"dino": 50}}}}
    path = tmp_path / "dreambench-lines.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    data, generated = build_dreambench(tmp_path / "db", images_per_prompt=1)
    result = grade(load_task(str(path)), generated, data, GradeOptions(models_dir=tiny_models))
    assert next(s for s in result.subjects if s.subject == "dog").metrics["dino"].threshold == -100
    assert any("'cat9', which the data does not have" in p.message for p in result.problems)


def _face_task(tmp_path: Path, **distance: object) -> Path:
    raw = yaml.safe_load(available_tasks()["face-identity"].read_text())
    raw["name"] = "faces"
    for metric in raw["metrics"].values():
        metric.pop("higher_is_better", None)
        metric.pop("aggregation", None)
    distance_metric = next(m for m in raw["metrics"].values() if m["rule"] == "face_distance")
    distance_metric.update(distance)
    path = tmp_path / "faces.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_rule_knows_its_direction_and_default_aggregation(tmp_path):
    task = load_task(str(_face_task(tmp_path)))
    by_rule = {m.rule: m for m in task.metrics.values()}
    assert by_rule["face_distance"].higher_is_better is False and by_rule["face_distance"].aggregation == "mean"
    assert by_rule["faceless_count"].higher_is_better is False and by_rule["faceless_count"].aggregation == "sum"
    ml2025 = load_task("ml2025-hw10")
    assert all(m.higher_is_better is True for m in ml2025.metrics.values())
    assert load_task("dlcv2024-hw2-p2").metrics["mse"].higher_is_better is False  # pixel_mse


def test_a_task_file_may_confirm_a_direction_but_not_contradict_it(tmp_path):
    assert load_task(str(_face_task(tmp_path, higher_is_better=False))).metrics
    with pytest.raises(TaskFileError) as info:
        load_task(str(_face_task(tmp_path, higher_is_better=True)))
    assert "higher_is_better: true contradicts rule face_distance" in str(info.value)
    assert load_task(str(_face_task(tmp_path, aggregation="sum"))).metrics  # the aggregation may be chosen


def test_validated_tasks_are_validated_again_when_the_grader_changes(tmp_path):
    import os
    import pickle

    import grader.rules.builtin as builtin
    from grader.tasks import validated

    path = available_tasks()["ml2025-hw10"]
    data = path.read_bytes()
    load_task("ml2025-hw10")
    assert validated.recall(data) is not None
    source = Path(builtin.__file__)
    before = source.stat()
    try:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # a rule was edited
        assert validated.recall(data) is None
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert validated.recall(data) is not None

    # An entry pickled by an older class, which lacks a field the class has now, is validated again.
    task = validated.recall(data)
    del task.metrics["dino"].encoder.__dict__["dtype"]
    validated._entry(data).write_bytes(pickle.dumps(task))
    assert validated.recall(data) is None
    assert load_task("ml2025-hw10").metrics["dino"].encoder.dtype == "float32"
    validated._entry(data).write_bytes(b"not a pickle")
    assert load_task("ml2025-hw10").name == "ml2025-hw10"


def test_validated_tasks_are_keyed_on_plugin_distributions(tmp_path, monkeypatch):
    from grader.tasks import validated

    data = available_tasks()["ml2025-hw10"].read_bytes()
    before = validated._entry(data)
    info = tmp_path / "colour_plus-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: colour-plus\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[t2i_grader.encoders]\ncolour = colour_plus:ENCODER\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = validated._entry(data)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: colour-plus\nVersion: 1.1\n")
    upgraded = validated._entry(data)
    assert len({before, installed, upgraded}) == 3


def test_tasks_name_describes_the_task_with_its_assumptions():
    from typer.testing import CliRunner

    from grader.cli import app

    res = CliRunner().invoke(app, ["tasks", "ml2025-hw10"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    cells = "".join(res.output.replace("│", "").split())  # a table cell folded over lines, read back whole
    for expected in ("facebook/dinov2-large", "openai/clip-vit-large-patch14-336", "{text_cond}", "tierboss:"):
        assert expected in cells, expected  # folded at 80 columns, never cut
    assert "Assumed CLIP-T reads text_cond alone" in text
    assert "--data: the folder with `metadata.json`" in text  # where --data points, as the course ships it
    missing = CliRunner().invoke(app, ["tasks", "ml2099-hw99"])
    assert missing.exit_code == 2 and "ml2099-hw99" in missing.output


def test_every_assumption_of_a_task_reaches_the_report(tiny_models, tmp_path):
    import grader
    from grader.paths import fixtures_dir

    course = fixtures_dir() / "courses" / "ml2025-hw10"
    result = grader.grade(course / "results", "ml2025-hw10", course / "data", models=tiny_models, cache=False)
    assumed = [n for n in result.to_dict()["notes"] if n.startswith("assumed: ")]
    assert len(assumed) == len(load_task("ml2025-hw10").assumptions) == 2
    assert "text_cond alone" in assumed[0]
