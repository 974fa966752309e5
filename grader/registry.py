"""One registry per kind of thing a task file names: rules, encoders, layouts.

A registry maps a name to a record describing it. The built-in records live in one module per registry, imported
the first time the registry is read; other packages add records through an entry-point group
(``t2i_grader.rules``, ``t2i_grader.encoders``, ``t2i_grader.layouts``) whose entries load a record or a list
of records, the way pytest finds its plugins. An entry point stays a placeholder until a name it may hold is looked
up (as lm-eval's registry keeps its tasks), and one that fails to load is a warning naming its distribution and
entry point: the other plugins and the built-ins keep working.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, Protocol, TypeVar

LOG = logging.getLogger("t2i_grader.plugins")


class Named(Protocol):
    """What a registry holds: records with a name."""

    @property
    def name(self) -> str:
        """The name a task file uses for the record."""
        ...


R = TypeVar("R", bound=Named)


def _origin(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    name = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return f"entry point {entry.name} = {entry.value} ({entry.group}) of {name}"


class Registry(Generic[R]):
    """The records of one kind, built-in and from plugins, by name."""

    def __init__(self, what: str, group: str, builtins: str) -> None:
        self.what = what  # "rule", "encoder kind", "layout kind": used in messages
        self.group = group
        self._builtins = builtins
        self._records: dict[str, R] = {}
        self._pending: dict[str, EntryPoint] | None = None  # entry points not loaded yet, by their name
        self.broken: list[str] = []  # entry points that failed to load, as the warning named them

    def register(self, record: R) -> R:
        """Add ``record`` under its name; a name already taken by another record is refused."""
        known = self._records.get(record.name)
        if known is not None and known is not record:
            raise ValueError(f"{self.what} {record.name!r} is registered twice")
        self._records[record.name] = record
        return record

    def _placeholders(self) -> dict[str, EntryPoint]:
        if self._pending is None:
            self._pending = {}
            importlib.import_module(self._builtins)
            for entry in entry_points(group=self.group):
                self._pending.setdefault(entry.name, entry)
        return self._pending

    def _load_entry(self, entry: EntryPoint) -> None:
        """Load one entry point; a failure (import, attribute, a record of the wrong shape, a name taken) is
        logged once and leaves the registry as it was."""
        try:
            loaded = entry.load()
            records = list(loaded) if isinstance(loaded, list | tuple) else [loaded]
            for record in records:
                if not isinstance(getattr(record, "name", None), str):
                    raise TypeError(f"{record!r} is not a {self.what} record (it has no name)")
                known = self._records.get(record.name)
                if known is not None and known is not record:
                    raise ValueError(f"{self.what} {record.name!r} is registered twice")
        except Exception as exc:  # a broken plugin must not stop the grader
            message = f"{_origin(entry)} could not be loaded and is ignored: {exc.__class__.__name__}: {exc}"
            self.broken.append(message)
            LOG.warning("warning: %s", message)
            return
        for record in records:
            self.register(record)

    def _load(self, name: str | None = None) -> None:
        """Load the entry point called ``name`` (its usual spelling), then, if the name is still unknown or no name
        is given, every entry point left: one entry point may hold a list of records under other names."""
        pending = self._placeholders()
        if name is not None and name in self._records:
            return
        if name is not None and name in pending:
            self._load_entry(pending.pop(name))
            if name in self._records:
                return
        while pending:
            self._load_entry(pending.pop(next(iter(pending))))

    def get(self, name: str) -> R:
        """The record called ``name``; KeyError naming the known ones when there is none."""
        self._load(name)
        if name not in self._records:
            raise KeyError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._records))}")
        return self._records[name]

    def __contains__(self, name: str) -> bool:
        self._load(name)
        return name in self._records

    def __iter__(self) -> Iterator[R]:
        self._load()
        return iter(list(self._records.values()))

    def names(self) -> list[str]:
        """Every registered name, sorted (plugins loaded)."""
        self._load()
        return sorted(self._records)
