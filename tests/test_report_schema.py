"""The report's published JSON Schema: generated from the result, committed, and met by real reports."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from grader.grading import GradeOptions, grade
from grader.paths import fixtures_dir
from grader.report.json_schema import report_schema
from grader.tasks import load_task

PUBLISHED = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"


def test_published_schema_is_the_generated_one():
    assert json.loads(PUBLISHED.read_text()) == report_schema(), "regenerate: python -m grader.report.json_schema"


def test_a_report_validates_and_a_drifted_one_does_not(tiny_models):
    root = fixtures_dir() / "ml2025-hw10"
    report = grade(load_task("ml2025-hw10"), root / "submission", root / "data", GradeOptions(models_dir=tiny_models))
    data = json.loads(report.to_json())
    jsonschema.validate(data, report_schema())
    data["subjects"][0]["metrics"]["dino"]["surprise"] = 1
    try:
        jsonschema.validate(data, report_schema())
    except jsonschema.ValidationError as exc:
        assert "surprise" in exc.message
    else:
        raise AssertionError("an unknown key passed validation")
