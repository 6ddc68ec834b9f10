"""The records a step process writes for the test process, one JSON record a line.

Encoded and decoded here alone, through one pydantic ``TypeAdapter`` over the declared records:
to send a new field, add it to the record (and fill it in :func:`event_record`). An exception
travels in one form, :class:`WireException`, whether a recorded hook raised it or Dagster
reported it in an engine event; it comes back as a :class:`RemoteException`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter

from pytest_resources._hooks import (
    Hook,
    Location,
    Outcome,
    exception_message,
    format_user_traceback,
)
from pytest_resources._recording import Event
from pytest_resources._release_check import Leftover, LeftoverKind


@dataclass(frozen=True)
class WireException:
    """An exception raised in another process: its type, message and the user's frames."""

    qualname: str
    module: str
    message: str
    # The user's frames, formatted where it was raised, and the ``Type: message`` line.
    traceback: tuple[str, ...]


@dataclass(frozen=True)
class EventRecord:
    """One recorded hook call in a step process."""

    time_ns: int
    sequence: int
    key: str
    # The resource class, which the test process imports again when it does not know the key.
    class_module: str
    class_qualname: str
    hook: Hook
    run_id: str
    pid: int
    outcome: Outcome
    exception: WireException | None
    location: tuple[str, int] | None
    started_ns: int = 0
    duration_ns: int = 0
    kind: Literal["event"] = "event"


@dataclass(frozen=True)
class LeftOpenRecord:
    """What a step process's resources left open after teardown (the release check)."""

    time_ns: int
    pid: int
    what: LeftoverKind
    description: str
    opened_by: str
    kind: Literal["left_open"] = "left_open"


Record = Annotated[Union[EventRecord, LeftOpenRecord], Field(discriminator="kind")]  # noqa: UP007
_RECORDS: TypeAdapter[Record] = TypeAdapter(Record)


def encode(record: EventRecord | LeftOpenRecord) -> str:
    """One line of a step process's records file."""
    return _RECORDS.dump_json(record).decode() + "\n"


def decode(line: str) -> EventRecord | LeftOpenRecord:
    return _RECORDS.validate_json(line)


def wire_exception(exception: BaseException) -> WireException:
    message = exception_message(exception)
    try:
        formatted = format_user_traceback(exception)
    except Exception:
        formatted = [f"{type(exception).__name__}: {message}\n"]
    return WireException(
        type(exception).__qualname__, type(exception).__module__, message, tuple(formatted)
    )


def event_record(event: Event, time_ns: int) -> EventRecord:
    cls = event.resource_class
    return EventRecord(
        time_ns=time_ns,
        sequence=event.sequence,
        key=event.key,
        class_module=cls.__module__,
        class_qualname=cls.__qualname__,
        hook=event.hook,
        run_id=event.run_id,
        pid=event.pid,
        outcome=event.outcome,
        exception=wire_exception(event.exception) if event.exception is not None else None,
        location=(event.location.filename, event.location.lineno) if event.location else None,
        started_ns=event.started_ns,
        duration_ns=event.duration_ns,
    )


def to_event(record: EventRecord, resource_class: type[Any]) -> Event:
    return Event(
        sequence=record.sequence,
        key=record.key,
        resource_class=resource_class,
        hook=record.hook,
        run_id=record.run_id,
        pid=record.pid,
        outcome=record.outcome,
        exception=remote_exception(record.exception) if record.exception else None,
        location=Location(*record.location) if record.location else None,
        started_ns=record.started_ns,
        duration_ns=record.duration_ns,
    )


def to_leftover(record: LeftOpenRecord) -> Leftover:
    return Leftover(record.what, f"{record.description}, in process {record.pid}", record.opened_by)


class RemoteException(Exception):
    """An exception raised in another process of the run, as its type name, message and the
    user's frames of its traceback; its subclasses carry the original type's name."""

    __pytest_resources_traceback__: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_remote_types: dict[tuple[str, str], type[RemoteException]] = {}


def remote_exception(wire: WireException) -> RemoteException:
    """The exception as the test process shows it: a stand-in class of the same name."""
    cls = _remote_types.get((wire.module, wire.qualname))
    if cls is None:
        cls = type(
            wire.qualname.rsplit(".", 1)[-1],
            (RemoteException,),
            {"__module__": wire.module, "__qualname__": wire.qualname},
        )
        _remote_types[(wire.module, wire.qualname)] = cls
    error = cls(wire.message)
    # Read by format_user_traceback: the frames as they were formatted where it was raised.
    error.__pytest_resources_traceback__ = wire.traceback
    return error


def reported_exception(name: str, message: str, frames: Sequence[str]) -> WireException:
    """An exception Dagster reported in an engine event, by its class name and message."""
    return WireException(name, "builtins", message, (*frames, f"{name}: {message}\n"))
