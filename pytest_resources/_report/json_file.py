"""The report files on disk: the JSON document (``schema.json`` describes it, version
:data:`SCHEMA_VERSION`), reading shards back, and the checks on a path before a session
spends its time writing there."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA_NAME = "pytest-resources-report"
# Raised when a field is removed or renamed (schema.json describes each version's fields).
SCHEMA_VERSION = 1
# What the first bytes of a file this plugin wrote hold, so that it may overwrite it.
JSON_MARKER = f'"schema": "{SCHEMA_NAME}"'
HTML_MARKER = '<meta name="generator" content="pytest-resources report">'
_SNIFFED_BYTES = 1024


class ReportFileError(Exception):
    """A report path that cannot be written, or a shard that is not a report: the message says
    which and what to do."""


def document(tests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON document of ``tests``, sorted by node id so that xdist workers and shards
    give the same document as one process."""
    ordered = sorted(tests, key=lambda test: test["nodeid"])
    return {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "tests": ordered}


def write_json(path: Path, tests: Iterable[Mapping[str, Any]]) -> None:
    path.write_text(
        json.dumps(document(tests), separators=(",", ":")).replace(
            f'"schema":"{SCHEMA_NAME}"', JSON_MARKER, 1
        ),
        encoding="utf-8",
    )


def read_shard(path: Path) -> list[dict[str, Any]]:
    """The tests of one JSON report, refusing what is not one of ours or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReportFileError(f"{path}: cannot read it as a JSON report ({error}).") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_NAME:
        raise ReportFileError(
            f"{path} is not a pytest-resources JSON report (written by "
            "--resources-report-json); merge only those."
        )
    if data.get("version") != SCHEMA_VERSION:
        raise ReportFileError(
            f"{path} is a version {data.get('version')} report; this pytest-resources reads "
            f"version {SCHEMA_VERSION}: rerun the shard with this version."
        )
    return list(data["tests"])


def check_writable(path: Path, option: str, marker: str) -> None:
    """Refuse, before the session runs, a path the report could not be written to or that
    holds a file of another tool."""
    if path.is_dir():
        raise ReportFileError(
            f"{option}={path}: that is a directory; give a file path, e.g. {path / 'report'}"
            f"{'.html' if marker == HTML_MARKER else '.json'}."
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ReportFileError(
            f"{option}={path}: the directory {parent} does not exist; create it first."
        )
    if path.exists():
        if not _written_by_us(path, marker):
            raise ReportFileError(
                f"{option}={path}: that file exists and was not written by pytest-resources; "
                "refusing to overwrite it. Choose another path or delete the file."
            )
        if not os.access(path, os.W_OK):
            raise ReportFileError(f"{option}={path}: the file is not writable.")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise ReportFileError(f"{option}={path}: the directory {parent} is not writable.")


def _written_by_us(path: Path, marker: str) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFFED_BYTES)
    except OSError:
        return False
    return not head or marker.encode() in head
