"""Episodes on disk: an embedded SQLite store (stdlib ``sqlite3``, WAL).

Every event that changes an episode is appended as it happens, so a server that
stops (or crashes) loses no step: an episode is rebuilt by replaying its events
(``Episode.replay``). A summary row per episode serves the history list without
replaying anything. Live-only events (text deltas, partial outputs) are not
stored: their effect arrives whole in the event that follows them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from jupyter_core.paths import jupyter_data_dir

from ..agent import Episode, Event, EventType, StepKind
from ..agent.episode import TRANSIENT_EVENTS, ActionStatus, FinalState

SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    created REAL NOT NULL,
    ended REAL,
    state TEXT,
    reason TEXT NOT NULL DEFAULT '',
    turns INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL DEFAULT '',
    notebook_path TEXT NOT NULL DEFAULT '',
    kernel_id TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS episodes_by_notebook ON episodes (notebook_path, created);
CREATE TABLE IF NOT EXISTS events (
    episode_id TEXT NOT NULL REFERENCES episodes (id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    time REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (episode_id, seq)
) WITHOUT ROWID;
"""


def default_db_path() -> str:
    return os.path.join(jupyter_data_dir(), "codeact_lab", "episodes.sqlite")


UNFINISHED_ACTIONS = {
    ActionStatus.PENDING.value,
    ActionStatus.AWAITING_APPROVAL.value,
    ActionStatus.RUNNING.value,
}


def summary_of(episode: Episode) -> dict[str, Any]:
    meta = episode.metadata
    return {
        "id": episode.id,
        "task": episode.task,
        "created": episode.created,
        "ended": episode.ended,
        "state": episode.state.value if episode.state else None,
        "reason": episode.reason,
        "turns": episode.turns,
        "usage": episode.usage.to_dict(),
        "model": episode.settings.model,
        "notebook_path": meta.get("notebook_path", ""),
        "kernel_id": meta.get("kernel_id", ""),
    }


class EpisodeStore:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Autocommit: each event is durable on its own, with no transaction left open.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a process crash
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ---- writing ----
    def create(self, episode: Episode) -> None:
        s = summary_of(episode)
        self._db.execute(
            "INSERT INTO episodes (id, task, created, model, notebook_path, kernel_id, metadata)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                s["id"],
                s["task"],
                s["created"],
                s["model"],
                s["notebook_path"],
                s["kernel_id"],
                json.dumps(episode.metadata),
            ),
        )

    def append(self, episode: Episode, event: Event) -> None:
        """Store one event (live-only ones are skipped) and keep the summary row current."""
        if event.type in TRANSIENT_EVENTS:
            return
        self._db.execute(
            "INSERT OR IGNORE INTO events (episode_id, seq, type, time, data) VALUES (?, ?, ?, ?, ?)",
            (episode.id, event.seq, event.type.value, event.time, json.dumps(event.data)),
        )
        if event.type in (
            EventType.ASSISTANT_MESSAGE,
            EventType.FINAL,
            EventType.USER_MESSAGE,
        ):
            self.update_summary(episode)

    def update_summary(self, episode: Episode) -> None:
        s = summary_of(episode)
        self._db.execute(
            "UPDATE episodes SET ended = ?, state = ?, reason = ?, turns = ?, prompt_tokens = ?,"
            " completion_tokens = ?, kernel_id = ?, notebook_path = ?, metadata = ? WHERE id = ?",
            (
                s["ended"],
                s["state"],
                s["reason"],
                s["turns"],
                episode.usage.prompt_tokens,
                episode.usage.completion_tokens,
                s["kernel_id"],
                s["notebook_path"],
                json.dumps(episode.metadata),
                episode.id,
            ),
        )

    # ---- reading ----
    def summaries(self, notebook_path: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = (
            "SELECT id, task, created, ended, state, reason, turns, prompt_tokens,"
            " completion_tokens, model, notebook_path, kernel_id FROM episodes"
        )
        args: list[Any] = []
        if notebook_path is not None:
            query += " WHERE notebook_path = ?"
            args.append(notebook_path)
        query += " ORDER BY created DESC LIMIT ?"
        args.append(limit)
        rows = self._db.execute(query, args).fetchall()
        return [
            {
                "id": r[0],
                "task": r[1],
                "created": r[2],
                "ended": r[3],
                "state": r[4],
                "reason": r[5],
                "turns": r[6],
                "usage": {
                    "prompt_tokens": r[7],
                    "completion_tokens": r[8],
                    "total_tokens": r[7] + r[8],
                },
                "model": r[9],
                "notebook_path": r[10],
                "kernel_id": r[11],
            }
            for r in rows
        ]

    def events(self, episode_id: str, since: int = 0) -> list[Event]:
        rows = self._db.execute(
            "SELECT seq, type, time, data FROM events WHERE episode_id = ? AND seq > ? ORDER BY seq",
            (episode_id, since),
        ).fetchall()
        return [
            Event(type=EventType(t), seq=seq, time=time, data=json.loads(data))
            for seq, t, time, data in rows
        ]

    def load(self, episode_id: str) -> Episode | None:
        row = self._db.execute(
            "SELECT created, metadata FROM episodes WHERE id = ?", (episode_id,)
        ).fetchone()
        if row is None:
            return None
        events = self.events(episode_id)
        if not events:
            return None
        episode = Episode.replay(events, id=episode_id, created=row[0])
        episode.metadata = json.loads(row[1])
        return episode

    def resolve_id(self, prefix: str) -> str:
        """The one episode whose id starts with ``prefix`` (8 characters are usually enough)."""
        rows = self._db.execute(
            "SELECT id FROM episodes WHERE id LIKE ? LIMIT 2", (prefix.lower() + "%",)
        ).fetchall()
        if not rows or not prefix:
            raise KeyError(f"no episode {prefix!r} in {self.path}")
        if len(rows) > 1:
            raise KeyError(f"{prefix!r} matches several episodes; give more of the id")
        return str(rows[0][0])

    def find(
        self,
        *,
        state: str | None = None,
        model: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[str]:
        """Ids of the episodes that match every filter given, oldest first."""
        query, args = "SELECT id FROM episodes WHERE 1 = 1", []
        for clause, value in (
            (" AND state = ?", state),
            (" AND model = ?", model),
            (" AND created >= ?", since),
            (" AND created < ?", until),
        ):
            if value is not None:
                query += clause
                args.append(value)
        return [r[0] for r in self._db.execute(query + " ORDER BY created", args)]

    def by_request(self, request_id: str) -> str | None:
        """The episode a client's request id started (``%codeact`` sends one per run)."""
        row = self._db.execute(
            "SELECT id FROM episodes WHERE json_extract(metadata, '$.request_id') = ?",
            (request_id,),
        ).fetchone()
        return str(row[0]) if row else None

    def exists(self, episode_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return row is not None

    # ---- recovery ----
    def mark_interrupted(self, reason: str, only: set[str] | None = None) -> list[str]:
        """Close every episode left running (by a crash, a restart): its unfinished
        actions are marked interrupted and it ends INTERRUPTED, with every step kept."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM episodes WHERE state IS NULL")]
        closed = []
        for episode_id in ids:
            if only is not None and episode_id not in only:
                continue
            episode = self.load(episode_id)
            if episode is None:  # created, but no event was stored
                self._db.execute(
                    "UPDATE episodes SET state = ?, reason = ? WHERE id = ?",
                    (FinalState.INTERRUPTED.value, reason, episode_id),
                )
                continue
            for step in episode.steps_of(StepKind.ACTION):
                if step.data.get("status") in UNFINISHED_ACTIONS:
                    self.append(
                        episode,
                        episode.event(
                            EventType.ACTION_FINISHED,
                            step_id=step.id,
                            status=ActionStatus.INTERRUPTED.value,
                        ),
                    )
            self.append(
                episode,
                episode.event(EventType.FINAL, state=FinalState.INTERRUPTED.value, reason=reason),
            )
            closed.append(episode_id)
        return closed
