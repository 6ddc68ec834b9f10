"""The report command: ``python -m pytest_resources.report merge SHARD.json ... -o REPORT.html``
merges the JSON reports of ``pytest --resources-report-json`` shards into one HTML report;
``python -m pytest_resources.report schema`` prints the JSON report's JSON Schema
(docs/how-to/report.md)."""

from __future__ import annotations

from pytest_resources._report.merge import main

if __name__ == "__main__":
    raise SystemExit(main())
