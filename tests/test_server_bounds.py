"""Bounded traffic and memory on a real server: live output costs about its own size on
the WebSocket, a reconnect gets one snapshot, a client that falls behind is dropped and
catches up, finished episodes leave memory."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

from .test_server_episodes import (  # noqa: F401 (fixtures)
    codeact_db,
    get,
    jp_server_config,
    kernel_id,
    notebook,
    start,
    wait_state,
)

# The module (the package re-exports its function of the same name).
handlers = importlib.import_module("codeact_lab.server.handlers")

# 1,000,000 characters printed over about 2 s, in 100 writes.
PRINT_1MB = "import time\nfor i in range(100):\n    print('x' * 9_999)\n    time.sleep(0.02)\n"
SIZE = 100 * 10_000


async def read_all(ws, until="final", timeout=60):
    """Every message (raw) up to and including the first event of type ``until``."""
    messages = []
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
        assert raw is not None, "the server closed the WebSocket"
        messages.append(raw)
        if json.loads(raw)["type"] == until:
            return messages


async def test_live_output_costs_about_its_own_size_on_the_socket(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": f"<execute>\n{PRINT_1MB}</execute>"}, {"text": "<solution>ok</solution>"}
    )
    created = await start(jp_fetch, notebook, kernel_id)
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    messages = await read_all(ws)
    ws.close()
    events = [json.loads(m) for m in messages]
    live = [m for m, e in zip(messages, events, strict=True) if e["type"] == "output"]
    assert len(live) >= 5  # it did stream, in many events
    sent = sum(len(m) for m in messages)
    # Whole snapshots every 50 ms made this 20x to 50x the output.
    assert sent < 1.3 * SIZE, f"{sent:,} bytes on the socket for {SIZE:,} of output"
    record = await get(jp_fetch, "episodes", created["id"])
    action = next(s for s in record["steps"] if s["kind"] == "action")
    assert action["data"]["outputs"][0]["text"] == ("x" * 9_999 + "\n") * 100


async def test_a_reconnect_mid_action_gets_one_snapshot_of_the_outputs(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": f"<execute>\n{PRINT_1MB}</execute>"}, {"text": "<solution>ok</solution>"}
    )
    created = await start(jp_fetch, notebook, kernel_id)
    first = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    outputs_seen = 0
    while outputs_seen < 5:
        event = json.loads(await first.read_message())
        outputs_seen += event["type"] == "output"
    late = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    replay = [json.loads(m) for m in await read_all(late, until="caught_up")]
    snapshots = [e for e in replay if e["type"] == "output"]
    assert len(snapshots) == 1 and snapshots[0]["data"].get("from", 0) == 0
    held = len(snapshots[0]["data"]["outputs"][0]["text"])
    assert held >= 5 * 10_000  # the outputs so far, whole
    # The late client ends with the same outputs as the record.
    rest = [json.loads(m) for m in await read_all(late)]
    finished = next(e for e in rest if e["type"] == "action_finished")
    assert "outputs_patch" in finished["data"] and "outputs" not in finished["data"]
    first.close()
    late.close()
    record = await wait_state(jp_fetch, created["id"])
    assert record["state"] == "solved"


async def test_a_client_that_falls_behind_is_dropped_and_catches_up_from_the_record(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id, monkeypatch
):
    monkeypatch.setattr(handlers, "MAX_BACKLOG_BYTES", 1)  # any unsent byte is "behind"
    scripted.script(
        {"text": f"<execute>\n{PRINT_1MB}</execute>"}, {"text": "<solution>ok</solution>"}
    )
    created = await start(jp_fetch, notebook, kernel_id)
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    last_seq = 0
    while True:
        raw = await asyncio.wait_for(ws.read_message(), 30)
        if raw is None:
            break
        event = json.loads(raw)
        last_seq = max(last_seq, event.get("seq", 0))
    assert ws.close_code == 1013  # "try again later"
    await wait_state(jp_fetch, created["id"])
    again = await jp_ws_fetch(
        "codeact", "episodes", created["id"], "events", params={"since": str(last_seq)}
    )
    caught_up = [json.loads(m) for m in await read_all(again, until="caught_up")]
    again.close()
    assert caught_up[-1]["seq"] >= caught_up[0]["seq"] > last_seq
    assert any(e["type"] == "final" for e in caught_up)


async def test_finished_episodes_leave_memory_and_stay_in_the_store(
    jp_fetch, jp_serverapp, scripted, notebook, kernel_id
):
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    manager.keep_finished = 3
    ids = []
    for i in range(8):
        scripted.script({"text": f"<solution>{i}</solution>"})
        created = await start(jp_fetch, notebook, kernel_id, task=f"task {i}")
        await wait_state(jp_fetch, created["id"])
        ids.append(created["id"])
    assert len(manager._live) <= 3
    assert set(manager._live) == set(ids[-3:])
    # The evicted ones are all still there, from the store.
    oldest = await get(jp_fetch, "episodes", ids[0])
    assert oldest["state"] == "solved" and oldest["steps"][-1]["data"]["text"] == "0"
    history = await get(jp_fetch, "episodes")
    assert {e["id"] for e in history["episodes"]} >= set(ids)


def test_a_snapshot_is_of_the_outputs_its_event_left_not_where_the_step_is_now(tmp_path):
    """The loop makes events before the server publishes them: a client joining between
    two patches must get the outputs as of the last one published, or the next patch
    (an append) would double its text."""
    from codeact_lab.agent import Episode, Event, EventType, StepKind
    from codeact_lab.config import CodeAct
    from codeact_lab.server.manager import EpisodeManager, LiveEpisode
    from codeact_lab.server.store import EpisodeStore

    settings = CodeAct(base_url="http://127.0.0.1:9/v1", model="m")
    manager = EpisodeManager(settings, {}, EpisodeStore(str(tmp_path / "s.sqlite")))
    episode = Episode(task="t")
    manager.store.create(episode)
    live = LiveEpisode(episode, "k")
    manager._live[episode.id] = live
    for event in (
        episode.event(EventType.EPISODE_STARTED, task="t", settings={}),
        episode.step_event(EventType.ACTION, StepKind.ACTION, code="x", outputs=[]),
    ):
        manager._publish(live, event)
    step = episode.steps[-1]
    first = [{"output_type": "stream", "name": "stdout", "text": "a"}]
    second = [{"output_type": "stream", "name": "stdout", "text": "ab"}]
    made = []
    for outputs, patch in (
        (first, {"from": 0, "outputs": first}),
        (second, {"from": 0, "append": "b", "outputs": []}),
    ):
        event = Event(EventType.OUTPUT, episode.last_seq + 1, 0.0, {"step_id": step.id, **patch})
        episode.last_seq = event.seq
        event.outputs_after = step.data["outputs"] = outputs
        made.append(event)
    manager._publish(live, made[0])  # the step is already at "ab"
    joined: list[str] = []
    manager.subscribe(episode.id, 0, joined.append)
    client: list[dict] = []
    from codeact_lab.agent.output_patch import apply_patch

    for raw in joined:
        message = json.loads(raw)
        if message["type"] == "output":
            client = apply_patch(client, message["data"])
    manager._publish(live, made[1])
    client = apply_patch(client, made[1].data)
    assert client == second
