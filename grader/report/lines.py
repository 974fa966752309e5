"""A metric's line and margin as every view writes them: the tier's line, else the task's gate, else nothing."""

from __future__ import annotations

from grader.result import MetricResult


def line_text(m: MetricResult) -> str:
    """``>= 68``, ``> 22 (gate)``, ``uncalibrated`` (the tier has no line for this model) or ``-``."""
    if m.threshold is not None:
        return f"{'>=' if m.higher_is_better else '<='} {m.threshold:g}"
    if not m.calibrated:
        return "uncalibrated"
    if m.gate_op is not None and m.gate_value is not None:
        return f"{m.gate_op} {m.gate_value:g} (gate)"
    return "-"


def line_value(m: MetricResult) -> float | None:
    """The value ``line_text`` names: the tier's line, else the gate's; None where it shows no number."""
    if m.threshold is not None:
        return m.threshold
    return m.gate_value if m.calibrated else None


def shown_margin(m: MetricResult) -> float | None:
    """The margin to the line, else to the gate."""
    return m.margin if m.margin is not None else m.gate_margin


def holds(m: MetricResult) -> bool | None:
    """Whether the value is on the passing side of its line, else of its gate; None without either."""
    return m.passed if m.passed is not None else m.gate_holds
