"""A small Dagster code location that ``make demo`` audits with
``--dagster-definitions``."""
