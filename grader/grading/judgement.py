"""Stage 4, judgement: per subject, the images kept (a top-k selection), each metric's aggregate, its line, its
bootstrap interval and pass probability, the real-vs-real ceiling, and the gates."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from grader import confidence
from grader.embeddings import Embeddings
from grader.grading.inputs import relative_problem
from grader.grading.running import RunningTask
from grader.grading.scores import SubjectScores, rule_input, select_top_k
from grader.metrics import AGGREGATIONS
from grader.metrics.aggregate import boundary_tie, selection_totals
from grader.result import MetricResult, SubjectResult, Verdict
from grader.rules import RULES
from grader.tasks.schema import Task


@dataclass(frozen=True)
class Judgement:
    """Stage 4's output for one subject."""

    metrics: dict[str, MetricResult]
    failures: list[str]  # gates that failed, faces-only metrics without a face
    distributions: dict[str, np.ndarray]  # metric -> bootstrap resamples of its aggregate
    kept: np.ndarray  # indices of the images the aggregates are over (all, without a selection)
    notes: list[str] = field(default_factory=list)  # e.g. a tie that decided which images were kept


def gate_checks(task: Task) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each gate of ``task`` as a function of a metric's value (or of an array of resampled values)."""
    return {name: gate.holds for name, gate in task.gates.items()}


def _selection(run: RunningTask, scores: SubjectScores) -> tuple[np.ndarray, Callable | None, list[str]]:
    per_image = scores.per_image()
    selection = run.task.selection
    if selection and all(n in per_image for n in selection.weights):
        kept = np.sort(select_top_k(per_image, selection, scores.subject.listing))
        select = functools.partial(
            confidence.select_rows, weights=selection.weights, k=selection.k, per_image=per_image
        )
        return kept, select, _tie_notes(scores, selection, kept)
    return np.arange(len(scores.subject.images)), None, []


def _tie_notes(scores: SubjectScores, selection, kept: np.ndarray) -> list[str]:
    """A note when equal totals straddle the k-th place: which of them were kept, and by which rule."""
    tied = boundary_tie(selection_totals(scores.per_image(), selection.weights), selection.k)
    if not len(tied):
        return []
    images = scores.subject.images
    names = ", ".join(images[i].name for i in tied)
    chosen = ", ".join(images[i].name for i in tied if i in set(kept.tolist()))
    rule = (
        "the ones listed last by the file system (os.listdir order), as the course's sorted(...)[-k:] keeps them"
        if selection.ties == "last-listed"
        else "the first in file order"
    )
    return [f"{scores.subject.subject}: {names} tie at the top-{selection.k} boundary; kept {chosen}, {rule}"]


def judge(
    run: RunningTask,
    scores: SubjectScores,
    embeddings: dict[tuple, Embeddings],
    meta_file: str,
    complete: int | None = None,
) -> Judgement:
    """The per-metric results of one subject, and its gate failures. ``complete``: a partial subject's image count
    when complete; its intervals and pass probabilities are then those of the completed subject."""
    task, subject = run.task, scores.subject
    per_image = scores.per_image()
    kept, select, notes = _selection(run, scores)
    aggregations = {n: task.metrics[n].aggregation for n in per_image}
    resampled = {n: v for n, v in per_image.items() if not RULES.get(task.metrics[n].rule).set_level}
    if complete is None:
        distributions = confidence.bootstrap_distributions(resampled, aggregations, select)
    else:
        distributions = confidence.completion_distributions(resampled, aggregations, complete, select)
    metrics: dict[str, MetricResult] = {}
    failures: list[str] = []
    for name, metric in task.metrics.items():
        rule = RULES.get(metric.rule)
        value, n, conventions = None, 0, {}
        if name in per_image:
            chosen = per_image[name][kept]
            valid = chosen[~np.isnan(chosen)]
            n = len(valid)
            if n:
                value = AGGREGATIONS[metric.aggregation](valid)
                if rule.conventions and metric.aggregation == "mean":
                    conventions = rule.conventions(valid)
            elif metric.faces_only:
                failures.append(f"{metric.label}: no generated image has a face (the course scores this 0)")
        declared = run.declared.metrics[name].encoder.model
        line, calibrated = (
            run.tier.line(subject.subject, name, declared, metric.encoder.model, subject.thresholds)
            if run.tier
            else (None, True)
        )
        ceiling = (
            rule.ceiling(rule_input(metric, scores, embeddings[metric.encoder.key], meta_file))
            if rule.ceiling and subject.references and value is not None
            else None
        )
        spread = (
            confidence.spread(distributions[name], line, metric.higher_is_better)
            if name in distributions and value is not None
            else confidence.Spread(None, None, None)
        )
        metrics[name] = MetricResult(
            metric=name,
            label=metric.label,
            value=value,
            n=n,
            threshold=line,
            higher_is_better=metric.higher_is_better,
            calibrated=calibrated,
            model=metric.encoder.model,
            is_count=rule.is_count,
            ci_low=spread.low,
            ci_high=spread.high,
            pass_probability=spread.pass_probability if calibrated else None,
            ceiling=ceiling,
            conventions=conventions,
            outcomes=(
                confidence.outcome_probabilities(distributions[name]) if rule.is_count and name in distributions else {}
            ),
        )
    for name, gate in task.gates.items():
        metrics[name].gate_op, metrics[name].gate_value = gate.op, gate.value
        value = metrics[name].value
        if value is not None and not gate.holds(value):
            failures.append(f"gate {metrics[name].label} {gate.op} {gate.value:g} not met ({value:.4g})")
    return Judgement(metrics, failures, distributions, kept, notes)


def subject_result(run: RunningTask, scores: SubjectScores, judgement: Judgement, folder) -> SubjectResult:
    """The subject's result: its metrics, its problems (the scan's, then the rules'), and the share of resamples
    in which every line and gate holds."""
    subject = scores.subject
    result = SubjectResult(
        subject.subject,
        len(subject.images),
        subject.expected_images or len(subject.images),
        judgement.metrics,
        [relative_problem(p, folder) for p in [*subject.problems, *scores.problems]],
        judgement.failures,
        [str(p) for p in subject.references],
    )
    if result.verdict in (Verdict.PASS, Verdict.FAIL):
        metrics = judgement.metrics
        lines = {n: (m.threshold, m.higher_is_better) for n, m in metrics.items() if m.threshold is not None}
        joint = confidence.jointly_passing(lines, gate_checks(run.task), judgement.distributions) if lines else None
        result.pass_probability = None if joint is None else float(joint.mean())
    return result
