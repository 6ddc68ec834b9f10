"""What a ``ConfigFailure`` says: which resource's own code raised for a generated config, which
fields that code read (taken from the failing statement, never guessed), and how to constrain or
pin them."""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from collections.abc import Iterator, Mapping
from types import FrameType, TracebackType
from typing import Any

from pydantic import BaseModel

from pytest_resources._errors import ConfigFailure
from pytest_resources._strategies import masked, shown_config
from pytest_resources._strategies.acceptance import RejectionStats
from pytest_resources._strategies.constraints import NO_CONSTRAINTS
from pytest_resources._totals import counted


def config_failure(
    cls: type[Any], config: dict[str, Any], fault: str, error: BaseException
) -> ConfigFailure:
    """The resource's own exception for a generated config ``cls(**config)``, raised with
    ``fault`` ("no fault injected", ...). A nested resource that raised is named, not its
    parent."""
    text = masked(cls, config, " ".join(f"{type(error).__name__}: {error}".split()))
    raiser, field_name = _raising_resource(cls, config, error.__traceback__)
    where = "" if raiser is cls else f" (nested in {cls.__name__} as `{field_name}`)"
    headline = (
        f"{raiser.__name__}'s own code{where} raised {text}\n"
        f"  with {fault}, for the generated config {cls.__name__}({shown_config(cls, config)})."
    )
    own_config = config if raiser is cls else _public_config(config[field_name])
    if not own_config:
        return ConfigFailure(headline + " No field was drawn: it fails whatever the config.")
    try:
        read, statement = _fields_read_where_it_failed(raiser, own_config, error.__traceback__)
    except Exception:  # the user's source or frames defeat the reading: say it cannot tell
        read, statement = [], ""
    if read:
        evidence = f"  The failing statement reads {_listed(read)}: {statement}\n"
        suspects = read
    else:
        suspects = _most_likely_first(own_config, str(error))
        evidence = (
            "  The failing statement reads no field directly; the drawn fields, most likely "
            f"first: {_listed(suspects)}.\n"
        )
    key = suspects[0]
    pinned = key if raiser is cls else field_name
    return ConfigFailure(
        f"{headline}\n{evidence}"
        f"  If {raiser.__name__} cannot take such a value, constrain the field so that pydantic "
        f"rejects it and the audit draws only values it takes, e.g. "
        f"{_constraint_hint(raiser, key, own_config[key])};"
        f"\n  or pin it for the audit: "
        f"run_context.audit({cls.__name__}, {pinned}=<a value or strategy>)."
    )


def odd_error_failure(cls: type[Any], stats: RejectionStats) -> ConfigFailure:
    """A validator that raised something other than a validation error for some generated
    configs: Dagster reports that as a crash of the run, not as a config error naming the field."""
    name, count = stats.odd_errors.most_common(1)[0]
    rejection, shown = stats.first_odd[name]
    raised_in = rejection.raised_in or f"validating {cls.__name__}"
    total = stats.accepted + stats.rejected
    pin = f"run_context.audit({cls.__name__}, <field>=<a value or strategy>)"
    field_name = re.search(r"\(field '([^']+)'\)", raised_in)
    if field_name:
        pin = pin.replace("<field>", field_name.group(1))
    return ConfigFailure(
        f"{raised_in} raised {rejection.message}\n"
        f"  for {count} of {counted(total, 'generated config')}, e.g. {cls.__name__}({shown}).\n"
        f"  {name} is not a validation error: Dagster reports it as a crash of the run, where a "
        "ValueError would be a config error naming the field.\n"
        "  Raise ValueError (or AssertionError) in the validator, which pydantic reports as a "
        f"validation error; or pin the field for the audit: {pin}."
    )


def _frames(traceback: TracebackType | None) -> Iterator[tuple[FrameType, int]]:
    while traceback is not None:
        yield traceback.tb_frame, traceback.tb_lineno
        traceback = traceback.tb_next


def _raising_resource(
    cls: type[Any], config: Mapping[str, Any], traceback: TracebackType | None
) -> tuple[type[Any], str]:
    """The resource nested in the config (and its field) whose own method is the innermost
    frame of the traceback; ``cls`` itself when none is."""
    nested = {key: value for key, value in config.items() if isinstance(value, BaseModel)}
    found: tuple[type[Any], str] = (cls, "")
    for frame, _ in _frames(traceback):
        owner = frame.f_locals.get("self")
        # Dagster sets up a copy of the nested resource: the same class, under that field.
        key = next((key for key, value in nested.items() if type(owner) is type(value)), None)
        if key is not None:
            found = (type(owner), key)
        elif type(owner) is cls:
            found = (cls, "")
    return found


def _public_config(model: Any) -> dict[str, Any]:
    return {
        name: model.__dict__[name] for name in type(model).model_fields if name in model.__dict__
    }


def _fields_read_where_it_failed(
    raiser: type[Any], config: Mapping[str, Any], traceback: TracebackType | None
) -> tuple[list[str], str]:
    """The config fields the resource's innermost failing statement reads, as ``self.<field>``
    or through a local name assigned from one earlier in the method, and that statement with
    its place; ``([], "")`` when the source cannot be read."""
    own = [
        (frame, line)
        for frame, line in _frames(traceback)
        if type(frame.f_locals.get("self")) is raiser
    ]
    if not own:
        return [], ""
    frame, line = own[-1]
    try:
        lines, first = inspect.getsourcelines(frame.f_code)
        function = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return [], ""
    line_in_source = line - max(first, 1) + 1
    # The innermost statement whose own part (a compound statement's header) holds the line.
    spans = [(node, *_header(node)) for node in ast.walk(function) if isinstance(node, ast.stmt)]
    holding = [span for span in spans if span[0].lineno <= line_in_source <= span[2]]
    if not holding:
        return [], ""
    failing, parts, _ = min(holding, key=lambda span: span[2] - span[0].lineno)
    if isinstance(failing, ast.Raise):
        # What decided to raise is the condition around it: `if not self.url: raise ...`.
        guards = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.If)
            and any(
                child.lineno <= failing.lineno <= (child.end_lineno or child.lineno)
                for child in (*node.body, *node.orelse)
            )
        ]
        if guards:
            parts = [*parts, max(guards, key=lambda node: node.lineno).test]
    fields = _fields_of(raiser, config)
    read = [name for part in parts for name in _self_attributes(part, fields)]
    locals_read = {
        node.id for part in parts for node in ast.walk(part) if isinstance(node, ast.Name)
    }
    for assignment in ast.walk(function):
        if (
            isinstance(assignment, ast.Assign)
            and assignment.lineno < failing.lineno
            and any(
                isinstance(target, ast.Name) and target.id in locals_read
                for target in assignment.targets
            )
        ):
            read.extend(_self_attributes(assignment.value, fields))
    source = lines[line_in_source - 1].strip()
    shown = source if len(source) <= 80 else source[:77] + "..."
    where = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{line}"
    return [fields[name] for name in dict.fromkeys(read)], f"`{shown}` ({where})"


def _header(node: ast.stmt) -> tuple[list[ast.AST], int]:
    """What a statement evaluates itself, not in its body, and its last line: a compound
    statement fails in its header (``with connect(self.path) as conn:``) or in its body."""
    body = getattr(node, "body", None)
    if not body:
        return [node], node.end_lineno or node.lineno
    last = body[0].lineno - 1
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return list(node.items), last
    if isinstance(node, (ast.If, ast.While)):
        return [node.test], last
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.iter], last
    return [], last


def _fields_of(cls: type[Any], config: Mapping[str, Any]) -> dict[str, str]:
    """Attribute name -> config key, for the fields drawn in ``config``."""
    return {
        name: key
        for name, info in cls.model_fields.items()
        for key in (name, info.alias)
        if key in config
    }


def _self_attributes(node: ast.AST, fields: Mapping[str, str]) -> list[str]:
    return [
        child.attr
        for child in ast.walk(node)
        if isinstance(child, ast.Attribute)
        and isinstance(child.value, ast.Name)
        and child.value.id == "self"
        and child.attr in fields
    ]


def _most_likely_first(config: Mapping[str, Any], message: str) -> list[str]:
    """The fields, those whose value the exception shows first, then those at an edge (empty,
    zero, None), then the rest as drawn."""

    def rank(key: str) -> int:
        value = config[key]
        if type(value) in (str, int, float, bool) and str(value) and str(value) in message:
            return 0
        empty = type(value) in (str, list, dict, tuple) and not value
        return 1 if value is None or empty or (type(value) in (int, float) and not value) else 2

    return sorted(config, key=rank)


def _listed(keys: list[str]) -> str:
    return ", ".join(f"`{key}`" for key in keys)


def _constraint_hint(cls: type[Any], key: str, value: Any) -> str:
    """How to constrain field ``key`` in its class so that pydantic rejects ``value``."""
    info = next(
        (info for name, info in cls.model_fields.items() if key in (name, info.alias)), None
    )
    annotation = getattr(info, "annotation", None)
    declared = NO_CONSTRAINTS.adding(getattr(info, "metadata", ()))
    # hypothesis shrank the example: a shorter string, or a value nearer zero, passed.
    if annotation is str and isinstance(value, str):
        length = "min_length=1" if value == "" else f"max_length={len(value) - 1}"
        return f"`{key}: str = Field({length})` or `Field(pattern=...)`"
    if annotation in (int, float) and isinstance(value, (int, float)) and math.isfinite(value):
        base = annotation.__name__
        if value > 0 or value in (declared.le, declared.lt):
            bound = f"lt={value!r}"
        elif value == -1 and annotation is int:
            bound = "ge=0"
        else:
            bound = f"gt={value!r}"
        return f"`{key}: {base} = Field({bound})` or `Annotated[{base}, Field(...)]`"
    return f"`{key}: Annotated[..., AfterValidator(check)]` or a field_validator"
