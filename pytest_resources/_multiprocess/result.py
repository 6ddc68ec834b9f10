"""What ``run_context.materialize`` returns: Dagster's result, and what the run recorded."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import dagster

from pytest_resources._errors import LifecycleError, PrivateStateLeak, ResourceUsageError
from pytest_resources._lifecycle import Lifecycle, lifecycle_of
from pytest_resources._multiprocess._facts import is_teardown_failure
from pytest_resources._problems import Problems
from pytest_resources._recording import Recording


class RunResult:
    """What ``run_context.materialize`` returns: Dagster's result, and what the run recorded.

    ``success``, ``run_id``, ``all_events`` and ``dagster_run`` are Dagster's. ``lifecycle(key)``
    is this run's records for a key or class, from every process; ``pids`` the processes that
    initialized a recorded resource; ``error`` what the run broke (also when ``check=False``).
    """

    #: Dagster's own result object.
    dagster_result: Any
    #: ``"in_process"`` or ``"multiprocess"``.
    executor: str
    #: The process that orchestrated the run: the test's.
    orchestrator_pid: int

    def __init__(
        self,
        result: Any,
        *,
        executor: str,
        recording: Recording,
        orchestrator_pid: int,
        problems: Problems,
        definitions: dagster.Definitions | None = None,
        instance: dagster.DagsterInstance | None = None,
    ) -> None:
        self.dagster_result = result
        self._definitions = definitions
        self._instance = instance
        self.executor = executor
        self._recording = recording
        self.orchestrator_pid = orchestrator_pid
        self._problems = problems

    @cached_property
    def error(self) -> LifecycleError | PrivateStateLeak | None:
        """What the run broke, as the error ``check=True`` raises; None when it broke nothing."""
        if not self._problems:
            return None
        return self._problems.error()

    @property
    def success(self) -> bool:
        return bool(self.dagster_result.success)

    @property
    def run_id(self) -> str:
        return str(self.dagster_result.run_id)

    @property
    def dagster_run(self) -> Any:
        return self.dagster_result.dagster_run

    @property
    def job_def(self) -> dagster.JobDefinition:
        return self.dagster_result.job_def  # type: ignore[no-any-return]

    @property
    def all_events(self) -> list[dagster.DagsterEvent]:
        return list(self.dagster_result.all_events)

    def events_of_type(self, event_type: str) -> list[dagster.DagsterEvent]:
        """Dagster's events of one type, e.g. ``"RESOURCE_INIT_SUCCESS"`` or ``"ENGINE_EVENT"``."""
        return [event for event in self.all_events if event.event_type_value == event_type]

    @property
    def teardown_failures(self) -> list[dagster.DagsterEvent]:
        """Dagster's "Teardown of resources [...] failed." engine events."""
        return [event for event in self.all_events if is_teardown_failure(event)]

    @property
    def step_pids(self) -> tuple[int, ...]:
        """The processes that initialized resources for a step (RESOURCE_INIT_SUCCESS)."""
        pids = (event.pid for event in self.events_of_type("RESOURCE_INIT_SUCCESS"))
        return tuple(dict.fromkeys(pid for pid in pids if pid is not None))

    @property
    def pids(self) -> tuple[int, ...]:
        """The processes in which a recorded resource hook ran, in order of first event."""
        return tuple(dict.fromkeys(event.pid for event in self._recording.events))

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        return lifecycle_of([self._recording], key_or_class)

    def output_for_node(self, node: str, output_name: str = "result") -> Any:
        """A step's output, loaded through its IO manager. After a multiprocess run Dagster
        re-initializes the run's resources in this process to load it (not recorded)."""
        if self.executor == "in_process":
            return self.dagster_result.output_for_node(node, output_name)
        asset_key = self._asset_key_of(node, output_name)
        if asset_key is not None:  # Dagster's own loader looks for it under the run's path
            return self.asset_value(asset_key)
        with self.dagster_result as opened:
            return opened.output_for_node(node, output_name)

    def _asset_key_of(self, node: str, output_name: str) -> dagster.AssetKey | None:
        if self._definitions is None:
            return None
        for assets_def in self._definitions.assets or ():
            if (
                isinstance(assets_def, dagster.AssetsDefinition)
                and assets_def.node_def.name == node
            ):
                key: dagster.AssetKey | None = assets_def.keys_by_output_name.get(output_name)
                return key
        return None

    def asset_value(self, asset_key: Any) -> Any:
        """An asset's materialized value. After a multiprocess run it is loaded through the
        asset's IO manager (``Definitions.load_asset_value``), which this process initializes for
        that (not recorded); an in-memory IO manager keeps nothing across processes."""
        if self.executor == "in_process":
            return self.dagster_result.asset_value(asset_key)
        if self._definitions is None:
            raise ResourceUsageError(
                "asset_value() after a multiprocess run of a job: load its outputs with "
                "output_for_node(node_name) instead."
            )
        return self._definitions.load_asset_value(asset_key, instance=self._instance)

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.executor} run {self.run_id[:8]} "
            f"success={self.success} pids={list(self.pids)}>"
        )
