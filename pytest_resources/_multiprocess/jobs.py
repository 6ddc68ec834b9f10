"""The job a real run executes, built the same way in the test process and in a step process;
and the functions that rebuild the test's resources from their pickles in a step process."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import dagster

from pytest_resources._errors import ResourceUsageError

JOB_NAME = "__pytest_resources_run__"


def build_job(
    target: Any, resources: Mapping[str, Any], executor: dagster.ExecutorDefinition
) -> dagster.JobDefinition:
    """The job for a list of assets, a Definitions or a job, with ``resources`` and ``executor``."""
    if isinstance(target, dagster.JobDefinition):
        job = target
        if resources:
            job = job.with_top_level_resources({**job.resource_defs, **_as_defs(resources)})
        return job.with_executor_def(executor)
    if isinstance(target, dagster.Definitions):
        return _job_of_definitions(target, resources, executor)
    defs = dagster.Definitions(
        jobs=[dagster.define_asset_job(name=JOB_NAME, executor_def=executor)],
        assets=list(target),
        resources=dict(resources),
    )
    return _resolve_job(defs, JOB_NAME)


def _as_defs(resources: Mapping[str, Any]) -> dict[str, Any]:
    from pytest_resources._dagster import wrap_resources_for_execution

    return dict(wrap_resources_for_execution(resources))


def _resolve_job(defs: dagster.Definitions, name: str) -> dagster.JobDefinition:
    resolve = getattr(defs, "resolve_job_def", None) or defs.get_job_def
    job: dagster.JobDefinition = resolve(name)
    return job


def _job_of_definitions(
    defs: dagster.Definitions, resources: Mapping[str, Any], executor: dagster.ExecutorDefinition
) -> dagster.JobDefinition:
    merged = {**dict(defs.resources or {}), **resources}
    assets = list(defs.assets or ())
    if assets:
        rebuilt = dagster.Definitions(
            jobs=[dagster.define_asset_job(name=JOB_NAME, executor_def=executor)],
            assets=assets,
            asset_checks=list(defs.asset_checks or ()),
            resources=merged,
        )
        return _resolve_job(rebuilt, JOB_NAME)
    jobs = list(defs.jobs or ())
    if len(jobs) != 1:
        raise ResourceUsageError(
            f"run_context.materialize(): a Definitions without assets must hold exactly one job "
            f"to run, this one holds {len(jobs)}; pass the job itself."
        )
    rebuilt = dagster.Definitions(jobs=jobs, resources=merged)
    return _resolve_job(rebuilt, jobs[0].name).with_executor_def(executor)


def definitions_for_values(
    kind: str, target: Any, resources: Mapping[str, Any]
) -> dagster.Definitions | None:
    """Definitions to load the run's asset values from, or None for a job."""
    if kind == "assets":
        return dagster.Definitions(assets=list(target), resources=dict(resources))
    if kind == "definitions":
        return dagster.Definitions(
            assets=list(target.assets or ()),
            resources={**dict(target.resources or {}), **resources},
        )
    return None


# --- what the pickles of the test's resources call in a step process ----------------------------


def rebuild_resource(cls: type[Any], values: Mapping[str, Any]) -> Any:
    """A resource the test built, rebuilt from its class and its public, non-default fields: as
    much as Dagster itself copies when it initializes one (private attributes never travel)."""
    return cls(**values)


def rebuild_partial(cls: type[Any], data: Mapping[str, Any]) -> Any:
    """A ``configure_at_launch()`` partial, rebuilt."""
    return cls.configure_at_launch(**data)


def import_reference(module_name: str, attribute: str) -> Any:
    """A module-level object (a definition, a function-based resource), imported again."""
    return getattr(importlib.import_module(module_name), attribute)
