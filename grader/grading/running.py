"""The task as this grade runs it: the user's overrides applied to encoders, texts and lines, and the tier chosen."""

from __future__ import annotations

from dataclasses import dataclass

from grader.errors import UsageError
from grader.grading.options import GradeOptions
from grader.rules import RULES
from grader.tasks.schema import Task, Tier

CUSTOM_TIER = "custom"  # the tier of lines given with --threshold


@dataclass(frozen=True)
class RunningTask:
    """``declared`` is the task file's task (its lines belong to its models); ``task`` the one that runs."""

    declared: Task
    task: Task
    tier_name: str | None  # None: no tier, scores only
    tier: Tier | None


def check_tier(task: Task, tier: str | None) -> None:
    """A usage error naming the task's tiers when ``tier`` is not one of them."""
    if tier is not None and tier not in task.tiers:
        known = ", ".join(task.tiers) or "none (scores only; set lines with --threshold METRIC=VALUE)"
        raise UsageError(f"task {task.name} has no tier {tier!r}; its tiers: {known}")


def with_options(task: Task, options: GradeOptions) -> Task:
    """The task as it will run: encoders, texts and lines overridden where the user asked."""
    metrics = {}
    for name, metric in task.metrics.items():
        update: dict = {"encoder": metric.encoder.with_options(options)}
        if "texts" in RULES.get(metric.rule).needs and options.text_template:
            update["text_template"] = options.text_template
        metrics[name] = metric.model_copy(update=update)
    unknown = sorted(set(options.thresholds) - set(task.metrics))
    if unknown:
        raise UsageError(f"--threshold names unknown metric(s) {', '.join(unknown)}; metrics: {', '.join(metrics)}")
    tiers = dict(task.tiers) | dict(options.tiers)
    if options.thresholds:
        tiers[CUSTOM_TIER] = Tier(description="lines given on the command line", all_subjects=dict(options.thresholds))
    return task.model_copy(update={"metrics": metrics, "tiers": tiers})


def default_tier(task: Task, options: GradeOptions) -> str | None:
    """The tier compared with: --threshold's lines, a gate's, the one asked for, else the task's first."""
    if options.thresholds:
        return CUSTOM_TIER
    if options.tiers and options.tier is None:
        return next(iter(options.tiers))
    if not task.tiers:
        return None  # nothing to compare with: scores only
    return options.tier or next(iter(task.tiers))


def prepare(task: Task, options: GradeOptions) -> RunningTask:
    """The running task and its tier; a usage error for a tier or a metric the task does not have."""
    running = with_options(task, options)
    tier_name = default_tier(task, options)
    check_tier(running, tier_name)
    return RunningTask(task, running, tier_name, running.tiers[tier_name] if tier_name else None)


def labels(task: Task, spec) -> list[str]:
    """The labels of the metrics computed with encoder ``spec`` (how reports and progress bars name it)."""
    return [m.label for m in task.metrics_of(spec).values()]
