"""The pytest plugin, exercised the way users run it: example test files under pytester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.assertions import assert_no_regression, regressions

pytest_plugins = ["pytester"]

PASSING_AND_FAILING = """
from grader.assertions import assert_passes

def test_tiny_line(grader_result):
    assert grader_result.task == "ml2025-hw10"
    assert_passes(grader_result)

def test_out_of_reach(grader_result):
    assert_passes(grader_result, tier="unreachable")
"""


def _task_with_tiers(path: Path, source: Path) -> Path:
    """The ml2025 task with two extra tiers: 'boss' at -100 (always met) and 'unreachable' at 100."""
    import yaml

    raw = yaml.safe_load(source.read_text())
    for tier, value in (("boss", -100.0), ("unreachable", 100.0)):
        raw["tiers"][tier] = {"description": f"every line at {value}", "all_subjects": {"dino": value, "clip_t": value}}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def configured(pytester: pytest.Pytester, ml2025: Path, tiny_models: Path, monkeypatch):
    from grader.tasks.registry import available_tasks

    task = _task_with_tiers(pytester.path / "ml2025-test.yaml", available_tasks()["ml2025-hw10"])
    # The task file is found by name through T2I_GRADER_TASKS, as a course's own tasks folder would be.
    task = task.rename(pytester.path / "ml2025-hw10.yaml")
    monkeypatch.setenv("T2I_GRADER_TASKS", str(pytester.path))
    pytester.makeini(
        f"""
        [pytest]
        grader_submission = {ml2025 / "submission"}
        grader_data = {ml2025 / "data"}
        grader_task = ml2025-hw10
        grader_models = {tiny_models}
        """
    )
    return pytester


def test_plugin_is_registered(pytester: pytest.Pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--grader-submission*", "*--grader-compare*", "*--grader-tolerance*"])


def test_assert_passes_reports_subject_metric_score_and_line(configured: pytest.Pytester):
    configured.makepyfile(test_gate=PASSING_AND_FAILING)
    result = configured.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ml2025-hw10: 12 check(s) keep it from the 'unreachable' line*",
            "*object-1  DINO: * < 100 (margin -*",
            "*object-6  CLIP-T: * < 100 (margin -*",
        ]
    )


def test_missing_configuration_is_a_clear_error(pytester: pytest.Pytester):
    pytester.makepyfile("def test_x(grader_result):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*set --grader-submission, --grader-task and --grader-data*"])


def test_compare_adds_a_regression_test(configured: pytest.Pytester, ml2025: Path, tiny_models: Path, tmp_path: Path):
    configured.makepyfile("def test_graded(grader_result):\n    assert grader_result.subjects\n")
    # Grade once to get the real scores, then write a "previous" result in which one score was higher.
    from grader.grading import GradeOptions, grade
    from grader.tasks import load_task

    current = grade(
        load_task("ml2025-hw10"), ml2025 / "submission", ml2025 / "data", GradeOptions(models_dir=tiny_models)
    ).to_dict()
    same = tmp_path / "same.json"
    same.write_text(json.dumps(current))
    result = configured.runpytest(f"--grader-compare={same}")
    result.assert_outcomes(passed=2)

    previous = json.loads(json.dumps(current))
    previous["subjects"][3]["metrics"]["clip_t"]["value"] += 2.0
    better = tmp_path / "better.json"
    better.write_text(json.dumps(previous))
    result = configured.runpytest(f"--grader-compare={better}", "--grader-tolerance=0.5")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*1 score(s) dropped*", "*object-4  CLIP-T: dropped by 2 (was *, now *; tolerance 0.5)*"]
    )


def _report(values: dict[str, float], higher_is_better: bool = True) -> dict:
    return {
        "subjects": [
            {
                "subject": "s",
                "metrics": {
                    name: {"value": v, "higher_is_better": higher_is_better, "label": name.upper()}
                    for name, v in values.items()
                },
            }
        ]
    }


def test_regression_between_two_result_jsons(tmp_path: Path):
    before, after = tmp_path / "before.json", _report({"dino": 70.0, "clip_t": 25.0})
    before.write_text(json.dumps(_report({"dino": 70.2, "clip_t": 26.0})))
    assert regressions(after, before, tolerance=0.5) == ["s  CLIP_T: dropped by 1 (was 26, now 25; tolerance 0.5)"]
    with pytest.raises(AssertionError, match="CLIP_T: dropped by 1"):
        assert_no_regression(after, before, tolerance=0.5)
    assert_no_regression(after, before, tolerance=1.5)


def test_lower_is_better_drops_the_other_way(tmp_path: Path):
    before = _report({"face_distance": 1.20}, higher_is_better=False)
    assert regressions(_report({"face_distance": 1.10}, False), before, 0.05) == []
    assert regressions(_report({"face_distance": 1.30}, False), before, 0.05)[0].startswith(
        "s  FACE_DISTANCE: dropped by 0.1"
    )


def test_tiny_model_fixtures_serve_users_tests(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        from grader.grading import GradeOptions, grade
        from grader.tasks import load_task

        def test_grades_on_test_models(grader_tiny_models, grader_ml2025_fixture):
            root = grader_ml2025_fixture
            options = GradeOptions(models_dir=grader_tiny_models)
            result = grade(load_task("ml2025-hw10"), root / "submission", root / "data", options)
            assert result.uses_test_models and len(result.images) == 90
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_min_probability_adds_a_passes_test(configured: pytest.Pytester):
    result = configured.runpytest("--grader-baseline", "boss", "--grader-min-probability", "0.9", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*t2i-grader::passes*PASSED*"])
    result = configured.runpytest("--grader-baseline", "unreachable", "--grader-min-probability", "0.9")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*object-1: passes in 0.0% of bootstrap resamples (at least 90% asked)*"])


def test_min_probability_must_be_a_share(configured: pytest.Pytester):
    result = configured.runpytest("--grader-min-probability", "90")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--grader-min-probability must be from 0 to 1, not 90*"])
