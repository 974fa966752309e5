"""The task file's JSON Schema, with every registered rule, encoder kind and layout kind spelled out, so an editor
completes and checks a new task file before it is graded."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import Field, create_model

from grader.encoders import ENCODERS
from grader.layouts import LAYOUTS
from grader.rules import RULES
from grader.tasks.schema import MetricSpec, Task


def _distinct(classes: list[type]) -> tuple[type, ...]:
    return tuple(dict.fromkeys(classes))


def task_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a task file, for the rules, encoders and layouts registered now."""
    encoders = _distinct([k.spec for k in ENCODERS])
    layouts = _distinct([k.spec for k in LAYOUTS])
    metric = create_model(
        "MetricSpec",
        __base__=MetricSpec,
        rule=(Literal[tuple(RULES.names())], Field(description=MetricSpec.model_fields["rule"].description)),  # type: ignore[arg-type]
        encoder=(Union[encoders], ...),  # type: ignore[arg-type]  # noqa: UP007 - a union built at run time
    )
    task = create_model(
        "Task",
        __base__=Task,
        layout=(Union[layouts], ...),  # type: ignore[arg-type]  # noqa: UP007
        metrics=(dict[str, metric], Field(min_length=1)),  # type: ignore[valid-type]
    )
    schema = task.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "t2i-grader task file"
    return schema
