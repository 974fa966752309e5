"""The JSON Schema of the report ``grader check --json`` writes, generated from the result's dataclasses plus
the values the report derives (verdicts, margins). ``docs/report.schema.json`` is this output; a test keeps the
two equal and validates reports against it.

Usage: python -m grader.report.json_schema > docs/report.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from grader.result import SCHEMA_VERSION, GradeResult, Verdict

_NUMBER_OR_NULL = {"anyOf": [{"type": "number"}, {"type": "null"}]}
_VERDICT = {"enum": [v.value for v in Verdict]}
# What to_dict adds to each object beyond its dataclass fields.
_DERIVED: dict[str, dict[str, Any]] = {
    "GradeResult": {
        "schema_version": {"const": SCHEMA_VERSION},
        "verdict": _VERDICT,
        "exit_code": {"type": "integer", "minimum": 0, "maximum": 4},
        "uses_test_models": {"type": "boolean"},
        "all_problems": {"type": "array", "items": {"$ref": "#/$defs/Problem"}},
    },
    "SubjectResult": {"verdict": _VERDICT},
    "MetricResult": {
        "passed": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "margin": _NUMBER_OR_NULL,
        "margin_interval": {
            "anyOf": [{"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}, {"type": "null"}]
        },
        "borderline": {"type": "boolean"},
        "beyond_ceiling": {"type": "boolean"},
        "gate_margin": _NUMBER_OR_NULL,
    },
}


def _close(schema: dict[str, Any], derived: dict[str, Any]) -> None:
    """Every key present and no other: a report that drifts from its schema fails validation."""
    schema["properties"].update(derived)
    for value in schema["properties"].values():
        value.pop("default", None)
    schema["required"] = list(schema["properties"])
    schema["additionalProperties"] = False


def report_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    schema = TypeAdapter(GradeResult).json_schema(mode="serialization")
    _close(schema, _DERIVED["GradeResult"])
    for name, definition in schema["$defs"].items():
        if "properties" in definition:  # objects; enumerations (severities) are closed already
            _close(definition, _DERIVED.get(name, {}))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"t2i-grader report, schema version {SCHEMA_VERSION}"
    return schema


if __name__ == "__main__":
    print(json.dumps(report_schema(), indent=2))
