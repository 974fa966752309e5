"""pytest plugin: grade a submission once per session and gate on its scores.

Options (or the ini keys ``grader_<name>``): --grader-submission, --grader-task, --grader-data, --grader-baseline,
--grader-models, --grader-threshold, --grader-text-template, --grader-classifier, --grader-face-model,
--grader-face-detector, --grader-dtype, --grader-device, --grader-batch-size, --grader-gate,
--grader-strict-copies (the grading options of ``grader check``), --grader-compare, --grader-tolerance,
--grader-min-probability. With --grader-compare a test ``t2i-grader::no-regression`` is added that fails when a
score drops by more than the tolerance; with --grader-min-probability a test ``t2i-grader::passes`` that fails
unless every subject meets the tier's lines in at least that share of bootstrap resamples of its images.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.result import GradeResult

_OPTIONS = {
    "submission": "submission folder or .zip to grade",
    "task": "task name or task file",
    "data": "the task's data folder",
    "baseline": "tier to grade against (default: the task's first, e.g. boss)",
    "models": "folder of models as DIR/<org>/<name>",
    "face_model": "deepface model instead of the task's",
    "face_detector": "deepface detector instead of the task's",
    "compare": "result JSON to compare with: add a test failing on any score drop",
    "tolerance": "largest allowed drop for --grader-compare (default: the file's own, 0 for a gate, else 0.5)",
    "min_probability": "add a test failing unless each subject passes with at least this probability (0-1)",
    "threshold": "METRIC=VALUE[,METRIC=VALUE]: a line for every subject (tier 'custom')",
    "text_template": "CLIP text template instead of the task's",
    "classifier": "SUBJECT=CHECKPOINT[,SUBJECT=CHECKPOINT]: digit classifiers (dlcv2024-hw2-p1)",
    "dtype": "fp32 (as the courses) or bf16 (faster on CPUs with bf16; moves scores)",
    "device": "torch device for the encoders, e.g. cuda:0 (default: cuda if present, else cpu)",
    "batch_size": "images per forward pass",
    "gate": "a gate file from 'grader calibrate': grade against its lines (tier 'calibrated')",
    "strict_copies": "yes: a copy of a reference or a duplicate image is a problem, not only a flag",
}
_RESULT = pytest.StashKey[GradeResult]()
# Grading modules (torch, transformers) load only when a test asks for a grade, not at every pytest start.


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("t2i-grader", "grading text-to-image submissions")
    for name, help_text in _OPTIONS.items():
        flag = "--grader-" + name.replace("_", "-")
        group.addoption(flag, dest=f"grader_{name}", default=None, help=help_text)
        parser.addini(f"grader_{name}", help_text)


def _setting(config: pytest.Config, name: str, default: str | None = None) -> str | None:
    value = config.getoption(f"grader_{name}") or config.getini(f"grader_{name}")
    return value or default


def _resolve(config: pytest.Config, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else config.rootpath / path


def _path(config: pytest.Config, name: str) -> Path | None:
    value = _setting(config, name)
    return None if value is None else _resolve(config, value)


def _list(config: pytest.Config, name: str) -> list[str]:
    value = _setting(config, name)
    return [value] if value else []


def session_result(config: pytest.Config) -> GradeResult:
    """The session's one grade of the configured submission."""
    from grader.errors import GraderError
    from grader.grading import Resources, grade

    if _RESULT in config.stash:
        return config.stash[_RESULT]
    submission, data, task = _path(config, "submission"), _path(config, "data"), _setting(config, "task")
    if submission is None or data is None or task is None:
        pytest.fail(
            "t2i-grader: set --grader-submission, --grader-task and --grader-data (or the grader_* ini "
            "keys) to use grader_result",
            pytrace=False,
        )
    spec, options = _task_and_options(config, task)
    try:
        # The user cache: re-runs after an unrelated change cost no model time.
        result = grade(spec, submission, data, options, resources=Resources.with_cache(True))
    except GraderError as exc:
        pytest.fail(f"t2i-grader could not grade {submission}: {exc}", pytrace=False)
    except Exception as exc:  # exit code 4 on the command line: one line, no traceback of the grader's
        pytest.fail(f"t2i-grader internal error grading {submission}: {exc.__class__.__name__}: {exc}", pytrace=False)
    config.stash[_RESULT] = result
    return result


def _task_and_options(config: pytest.Config, task: str):  # -> (Task, GradeOptions)
    """The task and the grading options the session's settings name; pytest's usage error for a bad one."""
    from grader.errors import GraderError
    from grader.grading import GradeOptions
    from grader.keyvalues import key_values
    from grader.tasks import load_task

    task_path = config.rootpath / task if task.endswith((".yaml", ".yml")) else None
    try:
        spec = load_task(str(task_path or task))
        classifiers = key_values(_list(config, "classifier"), "--grader-classifier")
        options = GradeOptions.build(
            baseline=_setting(config, "baseline"),
            models=_path(config, "models"),
            face_model=_setting(config, "face_model"),
            face_detector=_setting(config, "face_detector"),
            text_template=_setting(config, "text_template"),
            thresholds=_list(config, "threshold"),
            classifiers={k: _resolve(config, v) for k, v in classifiers.items()},
            dtype=_setting(config, "dtype"),
            device=_setting(config, "device"),
            batch_size=_setting(config, "batch_size"),
            gate=_path(config, "gate"),
            task=spec.name,
            strict_copies=(_setting(config, "strict_copies") or "").lower() in ("1", "yes", "true"),
        )
    except GraderError as exc:
        raise pytest.UsageError(f"t2i-grader: {exc}") from None
    return spec, options


@pytest.fixture(scope="session")
def grader_result(pytestconfig: pytest.Config) -> GradeResult:
    """The configured submission graded once per session."""
    return session_result(pytestconfig)


@pytest.fixture(scope="session")
def grader_tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny random-weight stand-ins for the grading models, as a ``--models`` folder (for testing tooling)."""
    from grader.testing.tiny_models import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("t2i-grader-models"))


@pytest.fixture
def grader_ml2025_fixture(tmp_path: Path) -> Path:
    """A writable copy of the synthetic ml2025-hw10 dataset (``data/``) and submission (``submission/``)."""
    from grader.paths import fixtures_dir

    target = tmp_path / "ml2025-hw10"
    shutil.copytree(fixtures_dir() / "ml2025-hw10", target)
    return target


class RegressionItem(pytest.Item):
    def runtest(self) -> None:
        from grader.assertions import assert_no_regression

        previous = _path(self.config, "compare")
        assert previous is not None  # the item is only added with --grader-compare
        assert_no_regression(session_result(self.config), previous, _tolerance(self.config, previous))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"t2i-grader: no score drop against {_setting(self.config, 'compare')}"


def _tolerance(config: pytest.Config, previous: Path | None) -> float:
    """--grader-tolerance, else the compared file's own (a calibrated gate holds its variance: 0), else 0.5."""
    import json

    value = _setting(config, "tolerance")
    if value is not None:
        return float(value)
    try:
        own = json.loads(previous.read_text("utf-8")).get("tolerance") if previous else None
    except (OSError, ValueError, AttributeError):
        own = None
    return float(own) if isinstance(own, (int, float)) else 0.5


class PassesItem(RegressionItem):
    def runtest(self) -> None:
        from grader.assertions import assert_passes

        assert_passes(session_result(self.config), min_probability=_min_probability(self.config))

    def reportinfo(self):
        share = _min_probability(self.config)
        return self.path, None, f"t2i-grader: every subject passes with probability >= {share:g}"


def _min_probability(config: pytest.Config) -> float:
    value = _setting(config, "min_probability")
    try:
        share = float(value or "")
    except (TypeError, ValueError):
        raise pytest.UsageError(f"--grader-min-probability must be a number from 0 to 1, not {value!r}") from None
    if not 0 <= share <= 1:
        raise pytest.UsageError(f"--grader-min-probability must be from 0 to 1, not {share:g}")
    return share


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    task = _setting(config, "task")
    if task is not None and any("grader_result" in getattr(i, "fixturenames", ()) for i in items):
        _task_and_options(config, task)  # a bad setting is a usage error before any test runs, not a test's error
    if _setting(config, "compare"):
        compare = _path(config, "compare")
        if compare is None or not compare.is_file():
            raise pytest.UsageError(f"--grader-compare: {compare} not found (write one with grader check --json)")
        items.append(RegressionItem.from_parent(session, name="t2i-grader::no-regression"))
    if _setting(config, "min_probability"):
        _min_probability(config)
        items.append(PassesItem.from_parent(session, name="t2i-grader::passes"))
