"""A field's constraints, read from pydantic's and annotated-types' metadata."""

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import annotated_types as at
import hypothesis.strategies as st
from pydantic.fields import FieldInfo


def _flatten(metadata: Iterable[object]) -> Iterator[object]:
    """Single constraints out of FieldInfo.metadata or Annotated arguments.

    conint/constr/StringConstraints/Interval arrive grouped; Field(...) inside a nested
    ``Annotated`` arrives as a FieldInfo.
    """
    for item in metadata:
        if isinstance(item, FieldInfo):
            yield from _flatten(item.metadata)
        elif isinstance(item, at.GroupedMetadata):
            yield from _flatten(item)
        elif item is not None:
            yield item


# annotated-types bounds, each with the attribute that holds it; Constraints names its fields
# after those attributes.
_BOUNDS: tuple[tuple[type[Any], str], ...] = (
    (at.Gt, "gt"),
    (at.Ge, "ge"),
    (at.Lt, "lt"),
    (at.Le, "le"),
    (at.MultipleOf, "multiple_of"),
    (at.MinLen, "min_length"),
    (at.MaxLen, "max_length"),
)


@dataclass(frozen=True)
class Constraints:
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None
    multiple_of: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | re.Pattern[str] | None = None
    predicates: tuple[Callable[[Any], bool], ...] = ()

    def adding(self, metadata: Iterable[object]) -> "Constraints":
        found: dict[str, Any] = {}
        predicates = list(self.predicates)
        for item in _flatten(metadata):
            bound = next((name for kind, name in _BOUNDS if isinstance(item, kind)), None)
            if bound is not None:
                found[bound] = getattr(item, bound)
            elif isinstance(item, at.Predicate):
                predicates.append(item.func)
            # pydantic keeps Field(pattern=...) in a private metadata class: read it by name.
            elif getattr(item, "pattern", None) is not None:
                found["pattern"] = item.pattern  # type: ignore[attr-defined]
        return replace(self, **found, predicates=tuple(predicates))

    def sizes(self, usual_max_size: int | None = None) -> dict[str, Any]:
        """min_size/max_size for a collection strategy; usual_max_size applies when unbounded."""
        min_size = self.min_length or 0
        max_size = self.max_length
        if max_size is None and usual_max_size is not None:
            max_size = max(usual_max_size, min_size)
        return {"min_size": min_size, "max_size": max_size}

    def has_length(self, value: Any) -> bool:
        return (self.min_length or 0) <= len(value) <= (self.max_length or math.inf)

    def apply_predicates(self, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        for predicate in self.predicates:
            strategy = strategy.filter(predicate)
        return strategy


NO_CONSTRAINTS = Constraints()
