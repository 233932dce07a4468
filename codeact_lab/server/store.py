"""Episodes on disk: an embedded SQLite store (stdlib ``sqlite3``, WAL).

Every event that changes an episode is appended as it happens, so a server that
stops (or crashes) loses no step: an episode is rebuilt by replaying its events
(``Episode.replay``). A summary row per episode serves the history list without
replaying anything. Live-only events (text deltas, partial outputs) are not
stored: their effect arrives whole in the event that follows them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import stat
import time
import uuid
from typing import Any

from jupyter_core.paths import jupyter_data_dir

from ..agent import Episode, Event, EventType, StepKind
from ..agent.episode import TRANSIENT_EVENTS, ActionStatus, FinalState, status_of

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
-- Every server that uses this store, and when it last said it was alive (see Owner).
CREATE TABLE IF NOT EXISTS servers (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL
);
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


# A server that has not said it is alive for this long is taken to be gone.
HEARTBEAT_INTERVAL = 30.0
STALE_AFTER = 3 * HEARTBEAT_INTERVAL


class StoreError(Exception):
    """The store could not keep an event (a full disk, a conflict with another server)."""


class StoreConflict(StoreError):
    """Another writer already stored this event: two servers continued one episode."""


def _private(path: str, mode: int) -> None:
    """Tighten what an older version created world-readable (0644 file, 0755 folder)."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass


def new_owner() -> str:
    """This server's name in the store: host, process and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class EpisodeStore:
    """The store. A server opens it with an ``owner`` (see :meth:`register`): the episodes
    it runs are recorded as its own, and recovery never touches another live server's.
    The command line opens it without one, to read and prune."""

    def __init__(self, path: str, owner: str | None = None) -> None:
        self.path = path
        self.owner = owner
        if path != ":memory:":
            # Episodes hold code, outputs and data: only the user may read them (0700/0600,
            # as jupyter_server keeps its own secrets).
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, mode=0o700, exist_ok=True)
            _private(folder, 0o700)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            for suffix in ("", "-wal", "-shm"):
                _private(path + suffix, 0o600)
        # Autocommit: each event is durable on its own, with no transaction left open.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")  # another server writing: wait a bit
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a process crash
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(episodes)")}
        if "owner" not in columns:  # a store made before owners were recorded
            self._db.execute("ALTER TABLE episodes ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        if path != ":memory:":
            for suffix in ("-wal", "-shm"):
                _private(path + suffix, 0o600)

    def close(self) -> None:
        if self.owner is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("DELETE FROM servers WHERE owner = ?", (self.owner,))
        self._db.close()

    # ---- servers sharing the store ----
    def register(self) -> None:
        """Say that this server uses the store (and is alive); call every HEARTBEAT_INTERVAL."""
        assert self.owner is not None
        now_ = time.time()
        # Rows of servers that died without closing the store: a day stale is long gone.
        self._db.execute("DELETE FROM servers WHERE heartbeat < ?", (now_ - 86400,))
        self._db.execute(
            "INSERT INTO servers (owner, host, pid, started, heartbeat) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET heartbeat = excluded.heartbeat",
            (self.owner, socket.gethostname(), os.getpid(), now_, now_),
        )

    heartbeat = register

    def _owner_alive(self, owner: str) -> bool:
        if owner == self.owner:
            return True
        if not owner:  # stored before owners were recorded
            return False
        row = self._db.execute(
            "SELECT host, pid, heartbeat FROM servers WHERE owner = ?", (owner,)
        ).fetchone()
        if row is None:
            return False
        host, pid, beat = row
        if time.time() - beat > STALE_AFTER:
            return False
        return host != socket.gethostname() or _pid_alive(int(pid))

    def owner_of(self, episode_id: str) -> str:
        row = self._db.execute("SELECT owner FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return str(row[0]) if row else ""

    def running_elsewhere(self, episode_id: str) -> bool:
        """Whether another live server is running this episode now."""
        row = self._db.execute(
            "SELECT owner, state FROM episodes WHERE id = ?", (episode_id,)
        ).fetchone()
        if row is None or row[1] is not None or row[0] == self.owner:
            return False
        return self._owner_alive(str(row[0]))

    def claim(self, episode_id: str) -> None:
        """Make this server the episode's owner (it runs a follow-up of it)."""
        self._db.execute(
            "UPDATE episodes SET owner = ? WHERE id = ?", (self.owner or "", episode_id)
        )

    def last_seq(self, episode_id: str) -> int:
        row = self._db.execute(
            "SELECT MAX(seq) FROM events WHERE episode_id = ?", (episode_id,)
        ).fetchone()
        return int(row[0] or 0)

    # ---- writing ----
    def create(self, episode: Episode) -> None:
        s = summary_of(episode)
        self._db.execute(
            "INSERT INTO episodes (id, task, created, model, notebook_path, kernel_id, metadata,"
            " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s["id"],
                s["task"],
                s["created"],
                s["model"],
                s["notebook_path"],
                s["kernel_id"],
                json.dumps(episode.metadata),
                self.owner or "",
            ),
        )

    def append(self, episode: Episode, event: Event) -> None:
        """Store one event (live-only ones are skipped) and keep the summary row current."""
        if event.type in TRANSIENT_EVENTS:
            return
        try:
            self._db.execute(
                "INSERT INTO events (episode_id, seq, type, time, data) VALUES (?, ?, ?, ?, ?)",
                (episode.id, event.seq, event.type.value, event.time, json.dumps(event.data)),
            )
        except sqlite3.IntegrityError:
            raise StoreConflict(
                f"event {event.seq} of episode {episode.id} is already stored: another Jupyter "
                "server sharing this store wrote to the same episode"
            ) from None
        except sqlite3.Error as err:  # a full disk, a read-only or locked file
            raise StoreError(f"could not write {self.path}: {err}") from err
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
        """Close every episode left running by a server that is gone (a crash, a restart):
        its unfinished actions are marked interrupted and it ends INTERRUPTED, with every
        step kept. Episodes of another server that is alive are never touched; with
        ``only``, just those (this server's own, at its shutdown)."""
        rows = self._db.execute("SELECT id, owner FROM episodes WHERE state IS NULL").fetchall()
        closed = []
        for episode_id, owner in rows:
            if only is not None:
                if episode_id not in only:
                    continue
            elif self._owner_alive(str(owner)):
                continue
            episode = self.load(episode_id)
            if episode is None:  # created, but no event was stored
                self._db.execute(
                    "UPDATE episodes SET state = ?, reason = ? WHERE id = ?",
                    (FinalState.INTERRUPTED.value, reason, episode_id),
                )
                continue
            try:
                for step in episode.steps_of(StepKind.ACTION):
                    status = status_of(step)
                    if status is not None and status.unfinished:
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
                    episode.event(
                        EventType.FINAL, state=FinalState.INTERRUPTED.value, reason=reason
                    ),
                )
            except StoreConflict:  # another server recovered it at the same moment
                continue
            closed.append(episode_id)
        return closed

    # ---- retention ----
    def size_bytes(self) -> int:
        """Bytes the store's data takes (free pages not counted)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def prune(
        self,
        *,
        older_than_days: float | None = None,
        max_bytes: int | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete finished episodes: those created before the age limit, then the oldest
        until the store is under ``max_bytes``. Running episodes are never deleted.
        Returns the ids deleted (or that would be, with ``dry_run``)."""
        finished = self._db.execute(
            "SELECT e.id, e.created, (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM events"
            " WHERE episode_id = e.id) FROM episodes e WHERE e.state IS NOT NULL"
            " ORDER BY e.created"
        ).fetchall()
        doomed: list[str] = []
        cutoff = time.time() - older_than_days * 86400 if older_than_days else None
        size = self.size_bytes()
        for episode_id, created, data_bytes in finished:
            too_old = cutoff is not None and created < cutoff
            too_big = max_bytes is not None and size > max_bytes
            if not (too_old or too_big):
                break  # oldest first: every later one is newer, and the size only falls
            doomed.append(episode_id)
            size -= int(data_bytes)
        if doomed and not dry_run:
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM events WHERE episode_id IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM episodes WHERE id IN ({marks})", chunk)
        return doomed

    def discard(self, episode_id: str) -> None:
        """Delete an episode that never started (no event stored)."""
        if self.last_seq(episode_id) == 0:
            self._db.execute("DELETE FROM episodes WHERE id = ?", (episode_id,))

    def vacuum(self) -> None:
        """Give the space of deleted episodes back to the disk."""
        self._db.execute("VACUUM")
