"""Variables set in ``os.environ`` for a block, and restored after it. Cheap to import."""

from __future__ import annotations

import contextlib
import os
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
