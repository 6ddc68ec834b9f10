"""What the audit reports: one record per finding, values redacted, and the failure message."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LIVE_COPY = "live copy"
USER_INSTANCE = "user's instance"
RESOURCE = "resource"
YIELDED_VALUE = "value yielded to ops"
OUTLIVED = "outlived the run"


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
        if problem.path.startswith(problem.form) and problem.form != OUTLIVED:
            form, place = problem.form, problem.path[len(problem.form) :]
        forms = places.setdefault(place, [])
        if form not in forms:
            forms.append(form)
    exposures = sum(heading.startswith("secret config field") for _, heading in entries)
    summary = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in (
            (len(entries) - exposures, "private-state leak"),
            (exposures, "plaintext secret"),
        )
        if count
    ]
    lines = [f"{' and '.join(summary)} in serialized config:"]
    previous = None
    for (resource_heading, finding_heading), (whens, places) in entries.items():
        heading = resource_heading + (f", seen {' and '.join(whens)}" if whens else "")
        if heading != previous:
            lines += ["", f"{heading}:"]
            previous = heading
        lines.append(f"  {finding_heading}")
        lines.extend(
            f"    {', '.join(forms)}{': ' + place if place else ''}"
            for place, forms in places.items()
        )
    hints = [hint for hint in dict.fromkeys(map(_hint, problems)) if hint]
    return "\n".join([*lines, "", *hints] if hints else lines)


def _hint(problem: Leak | SecretExposure) -> str:
    if isinstance(problem, SecretExposure):
        return problem.hint
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
    if isinstance(problem, SecretExposure):
        return (
            f"secret config field {problem.config_field} ({problem.reason}) = "
            f"{problem.redacted_value}, in plaintext in:"
        )
    stored = f", stored at {problem.stored_at}" if problem.stored_at else ""
    if problem.audited == OUTLIVED:
        return f"run state {problem.private_attribute} = {problem.redacted_value}{stored}, " + (
            "still in:"
        )
    where = "its name appears as a key in" if problem.matched == "name" else "found in"
    return (
        f"private attribute {problem.private_attribute} = {problem.redacted_value}{stored}, "
        f"{where}:"
    )
