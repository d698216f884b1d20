"""What a config check reports: one ``FieldError`` per problem, all of them in one ``ConfigError``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# How a value relates to the other field of a contradictory pair (the page words it in its language).
Relation = Literal["", "at_most", "at_least", "differ"]


@dataclass(frozen=True)
class FieldError:
    path: str
    value: Any
    allowed: str
    # Set when the value is fine alone but contradicts another field: that field's key path.
    other: str = ""
    relation: Relation = ""
    other_value: Any = None
    # Line in the file the value came from, when known (``carehub config check``).
    line: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.path} = {self.value!r} is not allowed: {self.allowed}{hint}"


class ConfigError(ValueError):
    """A config value is wrong. ``errors`` holds every problem found, not just the first."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))
