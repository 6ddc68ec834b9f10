"""Real Dagster runs (``run_context.materialize``), in-process or with a process per step.

Imported in every step process (its ``dagster.yaml`` names :mod:`.step_process`), so this module
imports nothing: ``materialize`` drives the run in the test process, ``step_process`` records in
the step processes, ``_wire`` carries the records between them, ``jobs`` builds the job on both
sides, ``_references`` says what travels, ``_session`` holds the persistent instance, ``_facts``
reads Dagster's events for the rules, and ``result`` is what the test gets back.
"""
