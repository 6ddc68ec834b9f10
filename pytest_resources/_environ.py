"""Variables set in ``os.environ``, or a fresh working directory, for a block, and restored
after it. Cheap to import."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def env_applied(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the ``with`` block, then restore what was there.

    Use it per example inside a ``@given`` test: pytest's ``monkeypatch`` is function-scoped and
    trips hypothesis' ``function_scoped_fixture`` health check.
    """
    # Only these names are restored: what the block sets in other variables stays, as it would
    # without the plugin (unittest.mock.patch.dict would put the whole environment back).
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def in_temporary_directory(prefix: str) -> Iterator[None]:
    """Run in a fresh, empty working directory, removed afterwards: whatever a resource creates
    from a relative path lands there, not in the project."""
    previous = os.getcwd()
    # A resource may leave what cannot be removed (a read-only directory): never fail for it.
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as directory:
        os.chdir(directory)
        try:
            yield
        finally:
            os.chdir(previous)
