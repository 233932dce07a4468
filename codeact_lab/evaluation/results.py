"""The run's JSON Lines file: one line per finished (task, mode), written as it finishes.

It is also how an interrupted run resumes: the pairs it already holds are not run again
(except those that ended in a harness or endpoint error), and a line torn by the
interruption is cut off before appending.
"""

from __future__ import annotations

import json
import os
from typing import Any

Key = tuple[str, str]  # (task id, mode)


def key_of(record: dict[str, Any]) -> Key:
    return (str(record["task"]), str(record["mode"]))


def load_records(path: str) -> list[dict[str, Any]]:
    """The records of a JSONL file; a torn last line is dropped from the file itself."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    keep = data if data.endswith(b"\n") or not data else data[: data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(keep))
    records = []
    for line in keep.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn in the middle of the file: run that pair again
    return records


def latest(records: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The last record of each pair (a resumed pair's new line supersedes the old one)."""
    return {key_of(record): record for record in records}


def finished(records: list[dict[str, Any]]) -> set[Key]:
    """Pairs that need no new run: those whose last record has no harness error."""
    return {key for key, record in latest(records).items() if not record.get("error")}


class RecordWriter:
    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
