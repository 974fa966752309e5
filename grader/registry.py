"""One registry per kind of thing a task file names: rules, encoders, layouts.

A registry maps a name to a record describing it. The built-in records live in one module per registry, imported
the first time the registry is read; other packages add records through an entry-point group
(``t2i_grader.rules``, ``t2i_grader.encoders``, ``t2i_grader.layouts``) whose entries load a record or a list
of records, the way pytest finds its plugins.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


R = TypeVar("R", bound=Named)


class Registry(Generic[R]):
    def __init__(self, what: str, group: str, builtins: str) -> None:
        self.what = what  # "rule", "encoder kind", "layout kind": used in messages
        self.group = group
        self._builtins = builtins
        self._records: dict[str, R] = {}
        self._loaded = False

    def register(self, record: R) -> R:
        """Add ``record`` under its name; a name already taken by another record is refused."""
        known = self._records.get(record.name)
        if known is not None and known is not record:
            raise ValueError(f"{self.what} {record.name!r} is registered twice")
        self._records[record.name] = record
        return record

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        importlib.import_module(self._builtins)
        for entry in entry_points(group=self.group):
            loaded = entry.load()
            for record in loaded if isinstance(loaded, list | tuple) else [loaded]:
                self.register(record)

    def get(self, name: str) -> R:
        self._load()
        if name not in self._records:
            raise KeyError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._records))}")
        return self._records[name]

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._records

    def __iter__(self) -> Iterator[R]:
        self._load()
        return iter(list(self._records.values()))

    def names(self) -> list[str]:
        self._load()
        return sorted(self._records)
