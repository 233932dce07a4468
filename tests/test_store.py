"""The SQLite store: private files, owners shared by several servers, conflicts as errors,
a full disk as an error, retention."""

from __future__ import annotations

import os
import sqlite3
import stat
import time

import pytest

from codeact_lab.agent import Episode, EventType, StepKind
from codeact_lab.server.store import (
    STALE_AFTER,
    EpisodeStore,
    StoreConflict,
    StoreError,
    new_owner,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def running_episode(store: EpisodeStore, task: str = "t") -> Episode:
    episode = Episode(task=task)
    store.create(episode)
    store.append(episode, episode.event(EventType.EPISODE_STARTED, task=task, settings={}))
    store.append(episode, episode.step_event(EventType.USER_MESSAGE, StepKind.USER, text=task))
    return episode


def finished_episode(store: EpisodeStore, task: str, created: float, padding: int = 0):
    episode = Episode(task=task, created=created)
    store.create(episode)
    store.append(episode, episode.event(EventType.EPISODE_STARTED, task=task, settings={}))
    store.append(
        episode, episode.step_event(EventType.USER_MESSAGE, StepKind.USER, text="x" * padding)
    )
    store.append(episode, episode.event(EventType.FINAL, state="solved", reason=""))
    store.update_summary(episode)
    return episode


def test_the_store_is_private_to_its_user(tmp_path):
    path = tmp_path / "codeact_lab" / "episodes.sqlite"
    store = EpisodeStore(str(path))
    running_episode(store)
    assert mode(path.parent) == 0o700
    for name in ("episodes.sqlite", "episodes.sqlite-wal", "episodes.sqlite-shm"):
        if (path.parent / name).exists():
            assert mode(path.parent / name) == 0o600, name
    store.close()


def test_a_world_readable_store_from_an_older_version_is_tightened(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    path = folder / "episodes.sqlite"
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    EpisodeStore(str(path)).close()
    assert mode(folder) == 0o700 and mode(path) == 0o600


def test_a_second_server_leaves_the_first_ones_running_episodes_alone(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    first = EpisodeStore(path, owner=new_owner())
    first.register()
    mine = running_episode(first, "first server's")
    second = EpisodeStore(path, owner=new_owner())
    second.register()
    assert second.mark_interrupted("the Jupyter server stopped") == []
    assert second.running_elsewhere(mine.id)
    # The first server goes on writing its episode: nothing was dropped.
    first.append(mine, mine.event(EventType.TURN_STARTED, turn=1))
    assert first.last_seq(mine.id) == mine.last_seq == 3
    assert second.load(mine.id).state is None


def test_episodes_of_a_server_that_is_gone_are_recovered(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    gone = EpisodeStore(path, owner="elsewhere:1:dead")
    gone.register()
    stale = running_episode(gone, "left running")
    gone._db.execute("UPDATE servers SET heartbeat = ?", (time.time() - STALE_AFTER - 1,))
    crashed = EpisodeStore(path, owner="this-host:crashed")
    crashed.register()
    crashed._db.execute(  # same host, a pid that is no longer running
        "UPDATE servers SET pid = 999999999 WHERE owner = ?", (crashed.owner,)
    )
    orphan = running_episode(crashed, "crashed mid-action")
    legacy = EpisodeStore(path)  # written before owners were recorded
    old = running_episode(legacy, "older version")
    now = EpisodeStore(path, owner=new_owner())
    now.register()
    assert set(now.mark_interrupted("restarted")) == {stale.id, orphan.id, old.id}
    assert now.load(stale.id).state.value == "interrupted"


def test_two_servers_writing_one_episode_is_an_error_not_a_silent_drop(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    first = EpisodeStore(path, owner=new_owner())
    episode = running_episode(first)
    second = EpisodeStore(path, owner=new_owner())
    copy = second.load(episode.id)
    first.append(episode, episode.event(EventType.TURN_STARTED, turn=1))
    with pytest.raises(StoreConflict, match="another Jupyter server"):
        second.append(copy, copy.event(EventType.TURN_STARTED, turn=7))
    assert first.load(episode.id).last_seq == 3


def test_a_full_disk_is_an_error(tmp_path):
    store = EpisodeStore(str(tmp_path / "small.sqlite"))
    episode = running_episode(store)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="full"):
        for _ in range(200):
            store.append(
                episode,
                episode.step_event(EventType.USER_MESSAGE, StepKind.USER, text="y" * 10_000),
            )


def test_prune_by_age_then_by_size_keeps_running_episodes(tmp_path):
    store = EpisodeStore(str(tmp_path / "big.sqlite"))
    day = 86400
    now = time.time()
    ancient = finished_episode(store, "ancient", now - 800 * day)
    olds = [finished_episode(store, f"old {i}", now - (300 - i) * day, 50_000) for i in range(6)]
    recent = finished_episode(store, "recent", now - day, 50_000)
    running = running_episode(store, "still running")
    running.created = now - 900 * day
    assert store.prune(older_than_days=730, dry_run=True) == [ancient.id]
    assert store.exists(ancient.id)
    assert store.prune(older_than_days=730) == [ancient.id]
    assert not store.exists(ancient.id)
    size = store.size_bytes()
    deleted = store.prune(max_bytes=size - 120_000)
    assert deleted == [olds[0].id, olds[1].id, olds[2].id]  # oldest first, just enough
    assert store.exists(recent.id) and store.exists(running.id)
    store.vacuum()
    assert store.size_bytes() < size


def test_the_episodes_command_lists_and_prunes(tmp_path, capsys):
    from codeact_lab.cli import main

    path = str(tmp_path / "cli.sqlite")
    store = EpisodeStore(path)
    now = time.time()
    old = finished_episode(store, "an old  question\nover lines", now - 100 * 86400, 20_000)
    new = finished_episode(store, "a new one", now - 60, 20_000)
    store.close()
    assert main(["episodes", "--db", path, "list"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith(new.id[:8]) and "solved" in lines[0]
    assert lines[1].startswith(old.id[:8]) and "an old question over lines" in lines[1]
    assert "the store holds" in out.err
    assert main(["episodes", "--db", path, "prune", "--older-than", "30", "--dry-run"]) == 0
    assert capsys.readouterr().out.split() == [old.id]
    assert main(["episodes", "--db", path, "prune", "--older-than", "30"]) == 0
    assert "deleted 1 episode(s)" in capsys.readouterr().err
    reopened = EpisodeStore(path)
    assert not reopened.exists(old.id) and reopened.exists(new.id)
    assert main(["episodes", "--db", path, "prune"]) == 2  # no limit given: nothing done
