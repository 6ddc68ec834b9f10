"""What the audit reports: one record per finding, values redacted, and the failure message."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LIVE_COPY = "live copy"
USER_INSTANCE = "user's instance"
RESOURCE = "resource"
YIELDED_VALUE = "value yielded to ops"
OUTLIVED = "outlived the run"
GREW = "growth"
# Where run state outlived its run through a private attribute's default, shared by every
# instance: the user's instance reaches it too.
_SHARED_DEFAULT = re.compile(r"^(?:the default of [\w.]*?|user's instance)\.(_\w+)")
# The summary's noun for each kind of finding, singular and plural.
_NOUNS = {
    "leak": ("private-state leak", "private-state leaks"),
    "secret": ("plaintext secret", "plaintext secrets"),
    OUTLIVED: ("value of run state outlived its run", "values of run state outlived their run"),
    GREW: (
        "container outside the class grew run after run",
        "containers outside the class grew run after run",
    ),
}


@dataclass(frozen=True)
class Leak:
    """One place where a private attribute's name or value shows in a serialized form.

    ``audited`` is ``"live copy"`` or ``"user's instance"`` when both were audited, else
    ``"resource"``. ``private_attribute`` names the attribute as reached from the audited object:
    ``_token``, ``inner._token`` for a nested resource's, ``_session['token']`` for an item of a
    private container. ``matched`` is ``"value"`` or ``"name"`` (the name used as a key).
    ``path`` starts with the form: ``model_dump()['headers']['Authorization']``,
    ``repr()[token=…]``. ``redacted_value`` never holds the full value. ``stored_at`` is the line
    of the user's class that stored the value, when its source tells.
    """

    resource_key: str | None
    resource_class: str
    audited: str
    private_attribute: str
    matched: str
    form: str
    path: str
    when: str | None
    redacted_value: str
    stored_at: str | None = None


@dataclass(frozen=True)
class SecretExposure:
    """One place where a secret config value shows in plaintext (the opt-in secrets check)."""

    resource_key: str | None
    resource_class: str
    audited: str
    config_field: str
    reason: str
    form: str
    path: str
    when: str | None
    redacted_value: str
    hint: str = ""


@dataclass(frozen=True)
class NotInspected:
    """A value the audit could not read and skipped: ``what`` is a private attribute
    (``_client``), or every private value when the audit of the whole resource failed."""

    resource_key: str | None
    resource_class: str
    what: str
    when: str | None
    error: str

    def place(self) -> str:
        return f"{_resource_name(self.resource_key)} ({self.resource_class}): {self.what}"


def format_not_inspected(skipped: Sequence[NotInspected]) -> str:
    """One line per value skipped, with the moments it was skipped at."""
    moments: dict[tuple[str, str], list[str]] = {}
    for item in skipped:
        whens = moments.setdefault((item.place(), item.error), [])
        if item.when and item.when not in whens:
            whens.append(item.when)
    lines = [
        f"  - {place}{', ' + ' and '.join(whens) if whens else ''} ({error})"
        for (place, error), whens in moments.items()
    ]
    return (
        "Not inspected by the leak audit (it could not read these values, so it skipped them; "
        "the resource was set up and torn down as usual):\n" + "\n".join(lines)
    )


def format_leak_report(problems: Sequence[Leak | SecretExposure]) -> str:
    """One entry per leak (per resource, audited object and attribute), with the moments it was
    seen and the forms it appeared in, values redacted, then how to fix each kind."""
    entries: dict[tuple[str, str], tuple[list[str], dict[str, list[str]]]] = {}
    for problem in problems:
        resource = f"{_resource_name(problem.resource_key)} ({problem.resource_class})"
        whens, places = entries.setdefault(
            (f"{resource}, {problem.audited}", _finding_heading(problem)), ([], {})
        )
        if problem.when is not None and problem.when not in whens:
            whens.append(problem.when)
        form, place = problem.path, ""
        if isinstance(problem, Leak) and problem.matched == GREW:
            form, place = "", problem.path
        elif problem.path.startswith(problem.form) and problem.form != OUTLIVED:
            form, place = problem.form, problem.path[len(problem.form) :]
        forms = places.setdefault(place, [])
        if form and form not in forms:
            forms.append(form)
    # Counted once per resource and attribute (secret field, global): the same secret in the
    # live copy's repr() and in the user's instance's is one secret.
    counts = dict.fromkeys(_NOUNS, 0)
    for _resource, kind, _name in {_identity(problem) for problem in problems}:
        counts[kind] += 1
    said = {kind: f"{n} {_NOUNS[kind][n != 1]}" for kind, n in counts.items() if n}
    serialized = [said.pop(kind) for kind in ("leak", "secret") if kind in said]
    summary = [f"{' and '.join(serialized)} in serialized config"] if serialized else []
    summary.extend(said.values())
    lines = [f"{' and '.join(summary)}:"]
    previous = None
    for (resource_heading, finding_heading), (whens, places) in entries.items():
        heading = resource_heading + (f", seen {' and '.join(whens)}" if whens else "")
        if heading != previous:
            lines += ["", f"{heading}:"]
            previous = heading
        lines.append(f"  {finding_heading}")
        lines.extend(
            f"    {': '.join(part for part in (', '.join(forms), place) if part)}"
            for place, forms in places.items()
        )
    hints = [hint for hint in dict.fromkeys(map(_hint, problems)) if hint]
    return "\n".join([*lines, "", *hints] if hints else lines)


def _identity(problem: Leak | SecretExposure) -> tuple[str, str, str]:
    resource = f"{problem.resource_key} {problem.resource_class}"
    if isinstance(problem, SecretExposure):
        return resource, "secret", problem.config_field
    kind = problem.matched if problem.matched == GREW else problem.audited
    return resource, kind if kind in _NOUNS else "leak", problem.private_attribute


def _hint(problem: Leak | SecretExposure) -> str:
    if isinstance(problem, SecretExposure):
        return problem.hint
    if problem.matched == GREW:
        return (
            "Make setup idempotent across runs: add a logging handler once (check "
            "logger.handlers first), key a module-level cache by config, and remove in teardown "
            "what only this run needs."
        )
    shared = _SHARED_DEFAULT.search(problem.path)
    if problem.audited == OUTLIVED and shared:
        return (
            f"If {shared.group(1)} is shared across runs on purpose (a connection pool), declare "
            f"it on the class: __shared_across_runs__ = ({shared.group(1)!r},). Otherwise build "
            "a new object in its default_factory, and release it in teardown."
        )
    if problem.audited == OUTLIVED:
        return (
            "Keep run state on the live copy only: not on the class, not in a shared default "
            "(PrivateAttr(default_factory=...) must build a new object), and release it in "
            "teardown."
        )
    if problem.audited == YIELDED_VALUE:
        return (
            "Yield a client or the resource itself, not a copy of the resource with run state "
            "in its config fields."
        )
    return (
        "Keep run state in PrivateAttr attributes only: do not copy it into config fields, "
        "computed fields, __repr__ or a model_serializer."
    )


def redact(value: object) -> str:
    """A value shown without giving it away: ``'sk…' (40 chars)`` for text, the type otherwise."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, bytes):
        return f"{bytes(value[:2])!r}… ({len(value)} bytes)"
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str.__str__(value) if isinstance(value, str) else repr(value)
        # Escaped, so that a control character cannot break the message's lines.
        return f"'{repr(text[:2])[1:-1]}…' ({len(text)} chars)"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return f"{type(value).__name__} of {len(value)} items"
    return f"{type(value).__module__}.{type(value).__qualname__} object"


def _resource_name(key: str | None) -> str:
    return "resource" if key is None else f"resource {key!r}"


def _finding_heading(problem: Leak | SecretExposure) -> str:
    if isinstance(problem, Leak) and problem.matched == GREW:
        return (
            "setup added to these again, so they grow run after run (sizes with the same config):"
        )
    if isinstance(problem, SecretExposure):
        return (
            f"secret config field {problem.config_field} ({problem.reason}) = "
            f"{problem.redacted_value}, in plaintext in:"
        )
    stored = f", stored at {problem.stored_at}" if problem.stored_at else ""
    if problem.audited == OUTLIVED:
        return (
            f"run state {problem.private_attribute} = {problem.redacted_value}{stored}, made "
            "during the run, still reachable after its teardown from:"
        )
    where = "its name appears as a key in" if problem.matched == "name" else "found in"
    return (
        f"private attribute {problem.private_attribute} = {problem.redacted_value}{stored}, "
        f"{where}:"
    )
