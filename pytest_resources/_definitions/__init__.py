"""Audit a whole code location: one pytest item per resource key of its ``Definitions``.

``pytest --dagster-definitions my_project.definitions`` loads the ``Definitions`` the way
``dagster dev -m`` does (a module attribute, the one ``Definitions`` in the module, or a
``@dg.definitions`` loader), and each resource key becomes an item that opens that resource as
the code location wires it (its nested resources, the top-level resources it depends on, the run
config a job gives a ``configure_at_launch()`` partial) through ``run_context.open``, so every
check of a hand-written test applies. Imported only when the option is given.

The pieces: ``loading`` (find and load the Definitions), ``options`` (the command line, the ini
file, the .env file), ``plans`` (what each item opens), ``tuning`` (the fields the project pins
for the audits), ``items`` (the pytest collector and items, and what each runs) and ``summary``
(the table at the end); ``hooks`` registers them.
"""

from pytest_resources._definitions.hooks import CodeLocationPlugin

__all__ = ["CodeLocationPlugin"]
