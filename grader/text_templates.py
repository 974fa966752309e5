"""Text templates (``'{name} {text_cond}'``) checked before use: named fields only, nothing else of str.format.

``str.format`` also reads attributes and items (``{name.upper}`` puts a method's address into the CLIP text),
applies conversions (``!r``) and format specs (``:d``, which raises on a string). A template may only name
fields; anything else is refused up front with a message that names the template."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from string import Formatter


class TemplateError(ValueError):
    """A template that is not a plain text with named fields."""


def template_fields(template: str, positional: bool = False) -> list[str]:
    """The fields ``template`` names, or TemplateError saying what is wrong. ``positional``: the fields are
    ``{0}``, ``{1}``... (DreamBench's prompt lists) instead of names."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"template {template!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    fields = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if conversion or spec:
            raise TemplateError(
                f"template {template!r}: {{{field}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} - only plain fields such as {{name}} are allowed"
            )
        plain = field.isdigit() if positional else field.isidentifier()
        if not plain:
            kind = "numbered fields such as {0}" if positional else "named fields such as {name}"
            raise TemplateError(f"template {template!r}: {{{field}}} - only {kind} are allowed")
        fields.append(field)
    return fields


def check_template(template: str, known: Iterable[str] | None = None) -> str:
    """``template`` if it names only plain fields (and, with ``known``, only those); else TemplateError."""
    fields = template_fields(template)
    if known is not None:
        allowed = set(known)
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            raise TemplateError(
                f"template {template!r}: no field {unknown[0]!r} here (fields: {', '.join(sorted(allowed))})"
            )
    return template


def fill(template: str, fields: Mapping[str, object]) -> str:
    """``template`` with its fields filled (KeyError names a field the values lack)."""
    check_template(template)
    return template.format_map(fields)


def fill_or_usage(template: str, fields: Mapping[str, object], option: str) -> str:
    """``fill`` for a template the user typed as ``option``: anything wrong is a usage error naming it."""
    from grader.errors import UsageError

    try:
        return fill(template, fields)
    except TemplateError as exc:
        raise UsageError(f"{option}: {exc}") from None
    except KeyError as exc:
        raise UsageError(f"{option}: template {template!r}: no field {exc} (fields: {', '.join(fields)})") from None
