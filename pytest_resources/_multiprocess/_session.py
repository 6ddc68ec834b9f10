"""The session's persistent instance for multiprocess runs, in a temporary Dagster home."""

from __future__ import annotations

import json
import os
import tempfile

import dagster

from pytest_resources._multiprocess import step_process


class MultiprocessSession:
    """A persistent instance in a temporary directory (the multiprocess executor refuses an
    ephemeral one), made when a test first asks for a multiprocess run; one per test session,
    that is one per xdist worker. Its ``dagster.yaml`` names the step process's
    :class:`~pytest_resources._multiprocess.step_process.RecordingInstance`."""

    def __init__(self) -> None:
        self._closed = False
        # A resource's step process may leave what cannot be removed: never fail for it.
        self._home = tempfile.TemporaryDirectory(
            prefix="pytest-resources-", ignore_cleanup_errors=True
        )
        self.events_dir = os.path.join(self._home.name, "events")
        os.makedirs(self.events_dir)
        settings = {
            "instance_class": {
                "module": step_process.__name__,
                "class": step_process.RecordingInstance.__name__,
            },
            step_process.SETTINGS_KEY: {"events_dir": self.events_dir, "session_pid": os.getpid()},
            "telemetry": {"enabled": False},
        }
        with open(os.path.join(self._home.name, "dagster.yaml"), "w", encoding="utf-8") as file:
            json.dump(settings, file)  # JSON is YAML
        self.instance: dagster.DagsterInstance = dagster.DagsterInstance.from_config(
            self._home.name
        )

    def close(self) -> None:
        """Dispose the instance and remove its directory; once closed, it does nothing."""
        if self._closed:
            return
        self._closed = True
        self.instance.dispose()
        self._home.cleanup()
