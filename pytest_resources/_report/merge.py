"""The report command: the shard merge (the JSON reports of a split test run, pytest-split or
one ``--dist`` job per machine, into the one HTML report a single process would have written),
and the JSON report's schema."""

from __future__ import annotations

import argparse
import importlib.resources
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_resources._report.html import write_html
from pytest_resources._report.json_file import (
    HTML_MARKER,
    JSON_MARKER,
    ReportFileError,
    check_writable,
    read_shard,
    write_json,
)

USAGE = (
    "python -m pytest_resources.report merge SHARD.json [SHARD.json ...] -o REPORT.html\n"
    "       python -m pytest_resources.report schema"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_resources.report",
        description="Merge the JSON reports of pytest --resources-report-json shards into one "
        "HTML report.",
        usage=USAGE,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge", help="merge JSON shards into one HTML report")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD.json")
    merge.add_argument("-o", "--output", required=True, type=Path, metavar="REPORT.html")
    merge.add_argument("--json", type=Path, metavar="MERGED.json", help="also write merged JSON")
    merge.add_argument(
        "--all-runs", action="store_true", help="draw every run's timeline, not only broken ones"
    )
    commands.add_parser("schema", help="print the JSON Schema of the JSON report")
    arguments = parser.parse_args(argv)
    if arguments.command == "schema":
        schema = importlib.resources.files("pytest_resources._report") / "schema.json"
        print(schema.read_text(encoding="utf-8"), end="")
        return 0
    try:
        check_writable(arguments.output, "--output", HTML_MARKER)
        if arguments.json is not None:
            check_writable(arguments.json, "--json", JSON_MARKER)
        tests = [test for shard in arguments.shards for test in read_shard(shard)]
    except ReportFileError as error:
        parser.exit(2, f"error: {error}\n")
    write_html(arguments.output, tests, all_runs=arguments.all_runs)
    if arguments.json is not None:
        write_json(arguments.json, tests)
    runs = sum(len(test["runs"]) for test in tests)
    print(
        f"{arguments.output}: {len(tests)} tests, {runs} runs from {len(arguments.shards)} shards",
        file=sys.stdout,
    )
    return 0
