"""Strategies for constrained ints, floats and text, written by hand on purpose.

``st.from_type(Annotated[int, ...])`` would read annotated-types bounds, but hypothesis
(6.170) ignores ``MultipleOf`` and pydantic's ``Field(pattern=...)`` with a warning and draws
values the model then rejects; so a multiple is drawn as a multiplier, and a pattern with
``st.from_regex``. Text in a field named like a path is drawn as a safe relative name.
"""

import math
import re
from collections.abc import Callable, Sized
from typing import TypeVar

import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument

from pytest_resources._strategies.constraints import Constraints
from pytest_resources._strategies.routes import Site

Number = TypeVar("Number", int, float)
Collection = TypeVar("Collection", bound=Sized)


def integers(constraints: Constraints) -> st.SearchStrategy[int]:
    lows = [math.ceil(constraints.ge)] if constraints.ge is not None else []
    if constraints.gt is not None:
        lows.append(math.floor(constraints.gt) + 1)
    highs = [math.floor(constraints.le)] if constraints.le is not None else []
    if constraints.lt is not None:
        highs.append(math.ceil(constraints.lt) - 1)
    low, high = max(lows, default=None), min(highs, default=None)
    if constraints.multiple_of is None:
        return _edges_first([0, low, high], low, high, st.integers(low, high))
    step = abs(int(constraints.multiple_of))
    return _multiples(
        None if low is None else -(-low // step), None if high is None else high // step, step
    )


def _multiples(low: int | None, high: int | None, step: Number) -> st.SearchStrategy[Number]:
    """Multiples of ``step`` whose multiplier lies in [low, high]: every value is a multiple and
    the bounds still hold; the multipliers' edges are drawn as the values' are."""
    multipliers = _edges_first([0, low, high], low, high, st.integers(low, high))
    return multipliers.map(lambda multiplier: multiplier * step)


def _edges_first(
    edges: list[Number | None],
    low: float | None,
    high: float | None,
    within: st.SearchStrategy[Number],
) -> st.SearchStrategy[Number]:
    """Zero and the declared bounds (those allowed) as often as all other values together, zero
    (else the lower bound) as hypothesis' simplest example: a setup that divides by a field's
    bound fails the audit whatever the seed, not for some seeds only. A field with no declared
    bound is left to hypothesis: drawing 0 half the time would starve validators that refuse it."""
    if low is None and high is None:
        return within
    allowed = [
        edge
        for edge in dict.fromkeys(edges)
        if edge is not None and (low is None or edge >= low) and (high is None or edge <= high)
    ]
    return st.one_of(st.sampled_from(allowed), within) if allowed else within


def lengths_first(
    constraints: Constraints,
    within: st.SearchStrategy[Collection],
    of_length: Callable[[int], st.SearchStrategy[Collection]],
) -> st.SearchStrategy[Collection]:
    """Values of the declared shortest and longest lengths (empty where allowed) as often as all
    other lengths together, as ``_edges_first`` does for numbers; a field with no declared length
    is left to hypothesis."""
    if constraints.min_length is None and constraints.max_length is None:
        return within
    lengths = dict.fromkeys([constraints.min_length or 0, constraints.max_length])
    edges = [of_length(length) for length in lengths if length is not None]
    return st.one_of(st.one_of(edges), within)


def floats(constraints: Constraints) -> st.SearchStrategy[float]:
    exclude_low, exclude_high = constraints.gt is not None, constraints.lt is not None
    low = constraints.gt if exclude_low else constraints.ge
    high = constraints.lt if exclude_high else constraints.le
    if constraints.multiple_of is None:
        within = st.floats(
            low,
            high,
            exclude_min=exclude_low,
            exclude_max=exclude_high,
            allow_nan=False,
            allow_infinity=False,
        )
        zero_excluded = (exclude_low and low == 0) or (exclude_high and high == 0)
        edges = [None if zero_excluded else 0.0, None if exclude_low else low]
        return _edges_first([*edges, None if exclude_high else high], low, high, within)
    step = constraints.multiple_of
    # pydantic checks multiple_of with a tolerance: rounding misses, and a multiple that sits on
    # an exclusive bound, are rare and rejected by validation.
    return _multiples(
        None if low is None else math.ceil(low / step),
        None if high is None else math.floor(high / step),
        step,
    )


# Words that make a str field a file system path: `path`, `db_path`, `output_dir`, `root_folder`,
# `logFile`... Drawn text there would be created wherever a resource's setup puts it.
_PATH_WORDS = frozenset(
    {
        "path",
        "paths",
        "dir",
        "dirs",
        "directory",
        "directories",
        "file",
        "files",
        "filename",
        "filenames",
        "filepath",
        "dirname",
        "dirpath",
        "pathname",
        "folder",
        "folders",
        "root",
        "location",
        "basedir",
        "workdir",
        "outdir",
        "tmpdir",
        "logdir",
        "datadir",
        "rootdir",
        "logfile",
        "dbpath",
    }
)


def is_path_like(name: str) -> bool:
    """Whether a field name reads as a path: one of its words (snake or camel case) does."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")
    return any(word in _PATH_WORDS for word in words)


# A relative name in the current directory: printable, no separator, never "." or "..", so that
# whatever a resource creates from it stays in the (temporary) working directory.
_PATH_NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


def path_names(constraints: Constraints) -> st.SearchStrategy[str]:
    low = max(constraints.min_length or 1, 1)
    high = constraints.max_length if constraints.max_length is not None else max(low, 12)
    if high < low:  # max_length=0: only the empty name fits
        return st.just("")
    if constraints.pattern is not None:
        # The field's own pattern wins; keep only what stays a relative name.
        return st.from_regex(constraints.pattern, fullmatch=True).filter(
            lambda text: (
                re.fullmatch(_PATH_NAME_PATTERN, text) is not None and constraints.has_length(text)
            )
        )
    first = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_")

    def names(shortest: int, longest: int) -> st.SearchStrategy[str]:
        rest = st.text(
            "abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=shortest - 1, max_size=longest - 1
        )
        return st.tuples(first, rest).map("".join)

    return lengths_first(
        constraints, names(low, high), lambda length: names(max(length, low), max(length, low))
    )


def text(constraints: Constraints, site: Site) -> st.SearchStrategy[str]:
    if site.path_like:
        return path_names(constraints)
    if constraints.pattern is None:
        return lengths_first(
            constraints,
            st.text(**constraints.sizes()),
            lambda length: st.text(min_size=length, max_size=length),
        )
    # pydantic's pattern is a search; a full match is a subset of it that is easy to generate.
    try:
        matching = st.from_regex(constraints.pattern, fullmatch=True)
        matching.validate()
    except (re.error, InvalidArgument) as error:
        raise site.cannot_infer(
            f"has pattern {constraints.pattern!r}, which Python's re cannot generate from ({error})"
        ) from error
    if constraints.min_length is None and constraints.max_length is None:
        return matching
    return matching.filter(constraints.has_length)
