"""What the audit reports: one record per finding (a leak, a secret in plaintext), values
redacted, and the failure message built from the records."""

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
    ``repr()[token=…]``. ``redacted_value`` never holds the full value.
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
    # The line of the user's class that stored the value, when its source tells.
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
    """A value the audit could not inspect and skipped: no failure of the resource, but the audit
    is weaker for it. ``what`` is a private attribute (``_client``) or ``"every private value"``
    when the audit of the whole resource failed."""

    resource_key: str | None
    resource_class: str
    what: str
    when: str | None
    error: str

    def place(self) -> str:
        key = "resource" if self.resource_key is None else f"resource {self.resource_key!r}"
        return f"{key} ({self.resource_class}): {self.what}"


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
    """A short failure message: one entry per leak (per resource, audited object and attribute),
    listing the moments it was seen and the forms it appeared in, values redacted."""
    entries: dict[tuple[str, str], tuple[list[str], dict[str, list[str]]]] = {}
    for problem in problems:
        whens, places = entries.setdefault(
            (_resource_heading(problem), _finding_heading(problem)), ([], {})
        )
        if problem.when is not None and problem.when not in whens:
            whens.append(problem.when)
        form, place = _split_path(problem)
        forms = places.setdefault(place, [])
        if form not in forms:
            forms.append(form)
    kinds = [isinstance(problem, Leak) for problem in problems]
    leak_count = sum(1 for heading in entries if not heading[1].startswith("secret config field"))
    exposure_count = len(entries) - leak_count
    summary = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in (
            (leak_count, "private-state leak"),
            (exposure_count, "plaintext secret"),
        )
        if count
    ]
    lines = [f"{' and '.join(summary)} in serialized config:"]
    previous_resource = None
    for (resource_heading, finding_heading), (whens, places) in entries.items():
        heading = resource_heading
        if whens:
            heading += f", seen {' and '.join(whens)}"
        if heading != previous_resource:
            lines += ["", f"{heading}:"]
            previous_resource = heading
        lines.append(f"  {finding_heading}")
        lines.extend(
            f"    {', '.join(forms)}{': ' + place if place else ''}"
            for place, forms in places.items()
        )
    hints = [
        hint
        for hint in dict.fromkeys(
            problem.hint if isinstance(problem, SecretExposure) else _leak_hint(problem)
            for problem in problems
        )
        if hint
    ]
    if any(kinds) or hints:
        lines.append("")
        lines.extend(hints)
    return "\n".join(lines)


def _split_path(problem: Leak | SecretExposure) -> tuple[str, str]:
    """(form, where in it): ``model_dump()['a']`` -> ``("model_dump()", "['a']")``."""
    if problem.path.startswith(problem.form) and problem.form != OUTLIVED:
        return problem.form, problem.path[len(problem.form) :]
    return problem.path, ""


def _leak_hint(leak: Leak) -> str:
    if leak.audited == OUTLIVED:
        return (
            "Keep run state on the live copy only: not on the class, not in a shared default "
            "(PrivateAttr(default_factory=...) must build a new object), and release it in "
            "teardown."
        )
    if leak.audited == YIELDED_VALUE:
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


def _resource_heading(problem: Leak | SecretExposure) -> str:
    key = "resource" if problem.resource_key is None else f"resource {problem.resource_key!r}"
    return f"{key} ({problem.resource_class}), {problem.audited}"


def _finding_heading(problem: Leak | SecretExposure) -> str:
    if isinstance(problem, Leak):
        stored = f", stored at {problem.stored_at}" if problem.stored_at else ""
        if problem.audited == OUTLIVED:
            return (
                f"run state {problem.private_attribute} = {problem.redacted_value}{stored}, "
                "still in:"
            )
        where = "its name appears as a key in" if problem.matched == "name" else "found in"
        return (
            f"private attribute {problem.private_attribute} = {problem.redacted_value}{stored}, "
            f"{where}:"
        )
    return (
        f"secret config field {problem.config_field} ({problem.reason}) = "
        f"{problem.redacted_value}, in plaintext in:"
    )
