"""Faults inside a resource's setup: a call its setup makes to a function the user names, or an
HTTP request it sends through requests or httpx, made to fail.

The callable is replaced only while the resource's setup runs (:meth:`SetupCalls.window`), and
the replacement fails only in the thread that runs that setup, once: any other thread, and any
later call, reaches the original. The original is put back when the setup ends, however it ends.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_resources._errors import ResourceUsageError

#: Builds the exception to raise, from the arguments of the call that fails.
ErrorFactory = Callable[[tuple[Any, ...]], BaseException]


@dataclass(frozen=True)
class Target:
    """One attribute to replace: ``owner.name`` (a module's function, a class's method)."""

    owner: Any
    name: str
    # What makes the error (None: the armed fault's own InjectedFault), for HTTP transports.
    error: Callable[[str, tuple[Any, ...]], BaseException] | None = None


def resolve_call(dotted: str) -> tuple[Any, str]:
    """Where ``dotted`` ("pkg.module.function", "pkg.module.Class.method") lives: the module or
    class holding it, and its name there."""
    parts = dotted.split(".")
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise ResourceUsageError(
            f"Fault(call={dotted!r}): name the callable by its module and name, "
            "e.g. 'myproj.client.fetch_token' or 'myproj.client.Client.fetch_token'."
        )
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            owner: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # A module that exists but fails to import something else is the user's error.
            if error.name is None or not (module_name + ".").startswith(error.name + "."):
                raise
            continue
        break
    else:
        raise ResourceUsageError(
            f"Fault(call={dotted!r}): no module {parts[0]!r} can be imported here."
        )
    for name in parts[split:-1]:
        owner = getattr(owner, name, None)
    name = parts[-1]
    if owner is None or not callable(getattr(owner, name, None)):
        raise ResourceUsageError(
            f"Fault(call={dotted!r}): {'.'.join(parts[:-1])} has no callable {name!r}."
        )
    return owner, name


def _shown_url(url: object) -> str:
    """A request's URL without its query or credentials, which may hold a secret."""
    parts = urllib.parse.urlsplit(str(url))
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


# One class per library and process: hypothesis tells failures apart by their types.
_INJECTED_CLASSES: dict[tuple[type[BaseException], type[BaseException]], Any] = {}


def _request_error(
    injected_fault: type[BaseException], base: type[BaseException]
) -> Callable[[str, tuple[Any, ...]], BaseException]:
    """An error that is both the library's own connection error (what the resource's code
    catches for a real failure) and ``injected_fault``, built from a send's arguments
    (self, request, ...)."""
    injected = _INJECTED_CLASSES.setdefault(
        (injected_fault, base), type(f"Injected{base.__name__}", (injected_fault, base), {})
    )

    def make(message: str, args: tuple[Any, ...]) -> BaseException:
        request = args[1]
        text = f"{message}: {request.method} {_shown_url(request.url)}"
        error: BaseException = injected(text, request=request)
        return error

    return make


def http_libraries_imported() -> bool:
    return any(name in sys.modules for name in _HTTP_LIBRARIES)


_HTTP_LIBRARIES = ("requests", "httpx")


def http_targets(injected_fault: type[BaseException]) -> list[Target]:
    """The clients' send methods of the HTTP libraries imported so far (the plugin imports
    none): every request goes through them, whatever transport or adapter (responses, respx, a
    mock transport) answers it."""
    targets = []
    requests = sys.modules.get("requests")
    if requests is not None:
        make = _request_error(injected_fault, requests.exceptions.ConnectionError)
        targets.append(Target(requests.Session, "send", make))
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        make = _request_error(injected_fault, httpx.ConnectError)
        targets.append(Target(httpx.Client, "send", make))
        targets.append(Target(httpx.AsyncClient, "send", make))
    return targets


class SetupCalls:
    """The calls one armed fault makes fail. The first of them made in the setup's thread while
    :meth:`window` is open raises what ``fail`` returns (given the library's own error for an
    HTTP transport, None for a named callable)."""

    def __init__(
        self,
        targets: list[Target],
        message: str,
        fail: Callable[[BaseException | None], BaseException],
    ) -> None:
        self._targets = targets
        self._message = message
        self._fail = fail
        self._depth = 0
        self._thread: int | None = None
        self._fired = False
        self._saved: list[tuple[Target, bool, Any]] = []

    @contextlib.contextmanager
    def window(self) -> Iterator[None]:
        """While the resource's setup runs: setup_for_execution and create_resource run inside
        yield_for_execution's entry, so the windows nest and the outermost one patches."""
        if self._depth == 0:
            self._thread = threading.get_ident()
            self._patch()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._restore()

    def _fails_now(self) -> bool:
        return not self._fired and self._thread == threading.get_ident() and self._depth > 0

    def _error(self, target: Target, args: tuple[Any, ...]) -> BaseException:
        self._fired = True
        return self._fail(None if target.error is None else target.error(self._message, args))

    def _patch(self) -> None:
        for target in self._targets:
            own = target.name in vars(target.owner)
            raw = inspect.getattr_static(target.owner, target.name)
            self._saved.append((target, own, raw))
            setattr(target.owner, target.name, self._replacement(target, raw))

    def _restore(self) -> None:
        while self._saved:
            target, own, raw = self._saved.pop()
            if own:
                setattr(target.owner, target.name, raw)
            else:
                delattr(target.owner, target.name)

    def _replacement(self, target: Target, raw: Any) -> Any:
        kind = type(raw) if isinstance(raw, (staticmethod, classmethod)) else None
        original = raw.__func__ if kind is not None else raw

        if inspect.iscoroutinefunction(original):

            @functools.wraps(original)
            async def failing_async(*args: Any, **kwargs: Any) -> Any:
                if self._fails_now():
                    raise self._error(target, args)
                return await original(*args, **kwargs)

            replacement: Any = failing_async
        else:

            @functools.wraps(original)
            def failing(*args: Any, **kwargs: Any) -> Any:
                if self._fails_now():
                    raise self._error(target, args)
                return original(*args, **kwargs)

            replacement = failing
        return kind(replacement) if kind is not None else replacement
