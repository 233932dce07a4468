"""The episodes API on a real jupyter_server with real kernels (pytest-jupyter).

The scripted model server stands in for the model; everything else is real:
HTTP, the WebSocket, the kernel manager, the SQLite store.
"""

from __future__ import annotations

import asyncio
import json
import time

import nbformat
import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError

from codeact_lab.agent import ActionStatus, Episode, EventType, KernelExecutor, StepKind
from codeact_lab.server.store import EpisodeStore

from .conftest import TEST_KEY

NOTEBOOK = "analysis.ipynb"


@pytest.fixture
def codeact_db(tmp_path):
    return str(tmp_path / "store" / "episodes.sqlite")


@pytest.fixture
def jp_server_config(scripted, codeact_db, monkeypatch):
    return server_config(scripted, codeact_db, monkeypatch)


def server_config(scripted, codeact_db, monkeypatch) -> dict:
    # The key comes from the environment: a key in config files shows in the server's debug log.
    monkeypatch.setenv("CODEACT_TEST_KEY", TEST_KEY)
    return {
        "ServerApp": {"jpserver_extensions": {"codeact_lab": True}},
        "CodeActExtension": {"db_path": codeact_db},
        "CodeAct": {
            "base_url": scripted.base_url,
            "model": "scripted",
            "api_key_env": "CODEACT_TEST_KEY",
            "action_timeout": 30.0,
        },
    }


@pytest.fixture
def notebook(jp_root_dir):
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / NOTEBOOK)
    return NOTEBOOK


@pytest.fixture
def kernel_id(jp_serverapp, jp_asyncio_loop):
    km = jp_serverapp.kernel_manager
    return jp_asyncio_loop.run_until_complete(km.start_kernel(kernel_name="python3"))


async def post(jp_fetch, *path, body=None, **kwargs):
    response = await jp_fetch(
        "codeact", *path, method="POST", body=json.dumps(body or {}), **kwargs
    )
    return json.loads(response.body) if response.body else None


async def get(jp_fetch, *path, **kwargs):
    response = await jp_fetch("codeact", *path, **kwargs)
    return json.loads(response.body)


async def start(jp_fetch, notebook, kernel_id, task="t", **extra):
    body = {"task": task, "notebook_path": notebook, "kernel_id": kernel_id, **extra}
    return await post(jp_fetch, "episodes", body=body)


async def events_until(ws, stop_type="final", timeout=30):
    """Read events until one of ``stop_type`` (inclusive)."""
    events = []
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
        assert message is not None, "the server closed the WebSocket"
        event = json.loads(message)
        events.append(event)
        if event["type"] == stop_type:
            return events


async def wait_state(jp_fetch, episode_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = await get(jp_fetch, "episodes", episode_id)
        if record["state"] is not None and not record["running"]:
            return record
        await asyncio.sleep(0.05)
    raise AssertionError("the episode did not end")


async def test_episode_runs_on_the_notebooks_kernel_and_streams_events(
    jp_fetch, jp_ws_fetch, jp_serverapp, scripted, notebook, kernel_id
):
    # The user defined a variable in the notebook before asking.
    user = KernelExecutor.for_manager(jp_serverapp.kernel_manager.get_kernel(kernel_id))
    await user.execute("numbers = [3, 1, 4, 1, 5]", 10)
    user.close()
    scripted.script(
        {"text": "<execute>\nprint(sum(numbrs))\n</execute>", "chunk": 4},
        {"text": "A typo.\n<execute>\nprint(sum(numbers))\n</execute>"},
        {"text": "The sum is <solution>14</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id, "sum the numbers", anchor_cell_id="c1")
    assert created["metadata"] == {
        "notebook_path": NOTEBOOK,
        "kernel_id": kernel_id,
        "anchor_cell_id": "c1",
    }
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    events = await events_until(ws)
    ws.close()

    types = [e["type"] for e in events if e["type"] != "caught_up"]
    assert types[0] == "episode_started" and types[-1] == "final"
    assert events[-1]["data"] == {"state": "solved", "reason": ""}
    assert "text_delta" in types and any(e["type"] == "caught_up" for e in events)
    # The model was told about the user's variable.
    assert "- numbers: list (len 5)" in scripted.requests[0]["messages"][0]["content"]
    seqs = [e["seq"] for e in events if e["type"] != "caught_up"]
    assert seqs == sorted(set(seqs))  # increasing, no duplicates
    record = await wait_state(jp_fetch, created["id"])
    actions = [s for s in record["steps"] if s["kind"] == "action"]
    assert [a["data"]["status"] for a in actions] == ["error", "ok"]
    assert actions[0]["data"]["outputs"][0]["ename"] == "NameError"
    assert actions[1]["data"]["outputs"][0]["text"] == "14\n"
    assert actions[1]["data"]["execution_count"] == actions[0]["data"]["execution_count"] + 1
    assert record["settings"]["model"] == "scripted" and record["usage"]["total_tokens"] > 0

    history = await get(jp_fetch, "episodes", params={"notebook_path": NOTEBOOK})
    assert [e["id"] for e in history["episodes"]] == [created["id"]]
    assert history["episodes"][0]["state"] == "solved"
    nb_response = await jp_fetch("codeact", "episodes", created["id"], "notebook")
    exported = nbformat.reads(nb_response.body.decode(), as_version=4)
    nbformat.validate(exported)
    assert [c.source for c in exported.cells if c.cell_type == "code"][1] == "print(sum(numbers))"


async def test_reconnect_with_since_catches_up_without_gaps_or_duplicates(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {
            "text": "<execute>\nimport time\nfor i in range(3):\n    print(i); time.sleep(0.2)\n</execute>"
        },
        {"text": "<execute>print('second')</execute>"},
        {"text": "<solution>ok</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id)
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    first = await events_until(ws, "action_started")
    ws.close()  # the tab is closed mid-episode: the episode goes on
    last_seq = max(e["seq"] for e in first if e["type"] != "caught_up")
    await wait_state(jp_fetch, created["id"])

    ws = await jp_ws_fetch(
        "codeact", "episodes", created["id"], "events", params={"since": str(last_seq)}
    )
    rest = await events_until(ws, "caught_up")
    ws.close()
    assert all(e["seq"] > last_seq for e in rest[:-1])
    assert rest[-2]["type"] == "final" and rest[-1]["seq"] == rest[-2]["seq"]
    # Stored and live events together rebuild exactly the record the server has.
    stored = [e for e in first + rest if e["type"] not in ("caught_up", "text_delta", "output")]
    from codeact_lab.agent import Event

    rebuilt = Episode.replay(
        [Event.from_dict(e) for e in stored], id=created["id"], created=created["created"]
    )
    record = await get(jp_fetch, "episodes", created["id"])
    assert [s["id"] for s in rebuilt.to_dict()["steps"]] == [s["id"] for s in record["steps"]]
    assert rebuilt.to_dict()["steps"] == record["steps"]


async def test_second_episode_on_a_busy_kernel_is_409_and_stop_is_fast(
    jp_fetch, jp_ws_fetch, jp_serverapp, scripted, notebook, kernel_id
):
    scripted.script({"text": "<execute>\nimport time\nx = 41\ntime.sleep(600)\n</execute>"})
    created = await start(jp_fetch, notebook, kernel_id)
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    await events_until(ws, "execute_input")  # the code runs in the kernel
    await asyncio.sleep(0.3)

    with pytest.raises(HTTPClientError) as err:
        await start(jp_fetch, notebook, kernel_id, "another")
    assert err.value.code == 409
    assert "already running episode" in json.loads(err.value.response.body)["message"]

    started = time.monotonic()
    record = await post(jp_fetch, "episodes", created["id"], "stop")
    latency = time.monotonic() - started
    assert record["state"] == "stopped" and not record["running"]
    assert latency < 1.0, latency
    actions = [s for s in record["steps"] if s["kind"] == "action"]
    assert actions[0]["data"]["status"] == "interrupted"
    ws.close()
    # The kernel is idle, kept its state, and takes a new episode.
    probe = KernelExecutor.for_manager(jp_serverapp.kernel_manager.get_kernel(kernel_id))
    result = await probe.execute("print(x + 1)", 10)
    probe.close()
    assert result.status is ActionStatus.OK and result.outputs[0]["text"] == "42\n"
    scripted.script({"text": "<solution>free again</solution>"})
    again = await start(jp_fetch, notebook, kernel_id, "again")
    assert (await wait_state(jp_fetch, again["id"]))["state"] == "solved"


async def test_approval_reject_with_note_then_run_all_remaining(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": "<execute>print('risky')</execute>"},
        {"text": "<execute>print('one')</execute>"},
        {"text": "<execute>print('two')</execute>"},
        {"text": "<solution>done</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id, settings={"approval": "ask"})
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    await events_until(ws, "awaiting_approval")
    record = await get(jp_fetch, "episodes", created["id"])
    assert record["awaiting_approval"] is not None
    await post(jp_fetch, "episodes", created["id"], "reject", body={"note": "not that"})
    await events_until(ws, "awaiting_approval")
    await post(jp_fetch, "episodes", created["id"], "approve", body={"all": True})
    await events_until(ws)
    ws.close()
    record = await wait_state(jp_fetch, created["id"])
    actions = [s["data"] for s in record["steps"] if s["kind"] == "action"]
    assert [a["status"] for a in actions] == ["rejected", "ok", "ok"]
    assert actions[0]["approval"] == {"decision": "reject", "note": "not that"}
    assert "rejected this action: not that" in scripted.requests[1]["messages"][-1]["content"]
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", created["id"], "approve")
    assert err.value.code == 409


async def test_follow_up_message_continues_the_same_episode(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": "<execute>total = 10</execute>"},
        {"text": "<solution>set</solution>"},
        {"text": "<execute>print(total * 3)</execute>"},
        {"text": "<solution>30</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id, "set total")
    await wait_state(jp_fetch, created["id"])
    answer = await post(jp_fetch, "episodes", created["id"], "messages", body={"text": "triple it"})
    assert answer["id"] == created["id"]
    record = await wait_state(jp_fetch, created["id"])
    assert record["state"] == "solved" and record["steps"][-1]["data"]["text"] == "30"
    assert [s["data"]["text"] for s in record["steps"] if s["kind"] == "user"] == [
        "set total",
        "triple it",
    ]


async def test_the_api_key_never_reaches_a_client(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        # A model that looks for the key in the kernel's environment: it is not there, and
        # a key the user put there themselves is redacted from every output.
        {
            "text": "<execute>import os; print(os.environ.get('CODEACT_TEST_KEY'))\n"
            f"print('{TEST_KEY[:10]}' + '{TEST_KEY[10:]}')</execute>"
        },
        {"text": "<solution>done</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id)
    record = await wait_state(jp_fetch, created["id"])
    bodies = [json.dumps(created), json.dumps(record)]
    bodies.append((await jp_fetch("codeact", "config")).body.decode())
    bodies.append((await jp_fetch("codeact", "episodes")).body.decode())
    exported = (await jp_fetch("codeact", "episodes", created["id"], "notebook")).body.decode()
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    bodies += [json.dumps(e) for e in await events_until(ws, "caught_up")]
    ws.close()
    assert scripted.headers[0]["Authorization"] == f"Bearer {TEST_KEY}"
    assert all(TEST_KEY not in body for body in bodies)
    assert TEST_KEY not in exported and "[redacted]" in exported
    action = next(s for s in record["steps"] if s["kind"] == "action")
    assert action["data"]["outputs"][0]["text"] == "None\n[redacted]\n"
    assert TEST_KEY not in json.dumps(scripted.requests)  # nor does the model read it back
    config = json.loads(bodies[2])
    assert set(config) == {"model", "endpoint", "approval", "max_turns", "action_timeout"}


async def test_a_client_chosen_endpoint_gets_no_key(jp_fetch, scripted, notebook, kernel_id):
    scripted.script({"text": "<solution>hi</solution>"})
    other = scripted.base_url.replace("127.0.0.1", "localhost")
    created = await start(
        jp_fetch, notebook, kernel_id, settings={"base_url": other, "model": "m2"}
    )
    record = await wait_state(jp_fetch, created["id"])
    assert record["state"] == "solved" and record["settings"]["model"] == "m2"
    assert TEST_KEY not in scripted.headers[0]["Authorization"]


async def test_server_restart_marks_running_episodes_interrupted_with_every_step(
    crashed_episode, jp_fetch
):
    record = await get(jp_fetch, "episodes", crashed_episode)
    assert record["state"] == "interrupted" and "stopped while" in record["reason"]
    kinds = [s["kind"] for s in record["steps"]]
    assert kinds == ["user", "assistant", "action"]
    assert record["steps"][2]["data"]["status"] == "interrupted"
    history = await get(jp_fetch, "episodes")
    assert history["episodes"][0]["state"] == "interrupted"


@pytest.fixture
def crashed_episode(codeact_db):
    """The store as a server left it when it died mid-action."""
    store = EpisodeStore(codeact_db)
    episode = Episode(task="long job")
    episode.metadata = {"notebook_path": NOTEBOOK, "kernel_id": "gone", "anchor_cell_id": None}
    store.create(episode)
    for event in (
        episode.event(EventType.EPISODE_STARTED, task=episode.task, settings={}),
        episode.step_event(EventType.USER_MESSAGE, StepKind.USER, text=episode.task),
        episode.event(EventType.TURN_STARTED, turn=1),
        episode.step_event(
            EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text="<execute>x</execute>", turn=1
        ),
        episode.step_event(EventType.ACTION, StepKind.ACTION, code="x", turn=1, status="pending"),
    ):
        store.append(episode, event)
    store.append(episode, episode.event(EventType.ACTION_STARTED, step_id=episode.steps[-1].id))
    store.close()
    return episode.id


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"task": "t", "notebook_path": NOTEBOOK, "kernel_id": "nope"}, 404, "no kernel"),
        ({"task": "t", "notebook_path": "missing.ipynb", "kernel_id": None}, 404, "no notebook"),
        ({"task": "t", "notebook_path": "../outside.ipynb", "kernel_id": None}, 400, "outside"),
        ({"task": "x" * 1_000_000, "notebook_path": NOTEBOOK, "kernel_id": None}, 413, "limit"),
        ({"notebook_path": NOTEBOOK, "kernel_id": None}, 400, "task is required"),
        (
            {
                "task": "t",
                "notebook_path": NOTEBOOK,
                "kernel_id": None,
                "settings": {"api_key": "k"},
            },
            400,
            "unknown setting",
        ),
        (
            {
                "task": "t",
                "notebook_path": NOTEBOOK,
                "kernel_id": None,
                "settings": {"max_turns": 0},
            },
            400,
            "max_turns",
        ),
    ],
)
async def test_bad_requests_get_clear_errors(jp_fetch, notebook, kernel_id, body, code, message):
    if body.get("kernel_id", "") is None:
        body["kernel_id"] = kernel_id
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", body=body)
    assert err.value.code == code
    assert message in json.loads(err.value.response.body)["message"]


async def test_malformed_json_and_unknown_episode(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("codeact", "episodes", method="POST", body="{not json")
    assert err.value.code == 400 and b"malformed JSON" in err.value.response.body
    missing = "0" * 32
    for path in ((missing,), (missing, "notebook")):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("codeact", "episodes", *path)
        assert err.value.code == 404
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", missing, "stop")
    assert err.value.code == 404


ROUTES = [
    ("GET", ("health",)),
    ("GET", ("config",)),
    ("GET", ("episodes",)),
    ("POST", ("episodes",)),
    ("POST", ("episodes", "import")),
    ("GET", ("episodes", "a" * 32)),
    ("POST", ("episodes", "a" * 32, "messages")),
    ("POST", ("episodes", "a" * 32, "approve")),
    ("POST", ("episodes", "a" * 32, "reject")),
    ("POST", ("episodes", "a" * 32, "stop")),
    ("GET", ("episodes", "a" * 32, "notebook")),
]


@pytest.mark.parametrize("token", ["", "token wrong-token"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_refuses_a_request_without_a_valid_token(jp_fetch, method, path, token):
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("codeact", *path, method=method, body=body, headers={"Authorization": token})
    assert err.value.code in (401, 403)


@pytest.mark.parametrize("token", ["", "token wrong-token"])
async def test_the_websocket_refuses_a_request_without_a_valid_token(
    jp_ws_fetch, crashed_episode, token
):
    with pytest.raises((HTTPClientError, WebSocketClosedError)) as err:
        await jp_ws_fetch(
            "codeact", "episodes", crashed_episode, "events", headers={"Authorization": token}
        )
    if isinstance(err.value, HTTPClientError):
        assert err.value.code in (401, 403)


async def test_server_shutdown_mid_action_keeps_every_step_and_marks_it_interrupted(
    jp_fetch, jp_ws_fetch, jp_serverapp, scripted, notebook, kernel_id, codeact_db
):
    scripted.script(
        {"text": "<execute>print('first')</execute>"},
        {"text": "<execute>\nimport time\ntime.sleep(600)\n</execute>"},
    )
    created = await start(jp_fetch, notebook, kernel_id)
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    events = await events_until(ws, "execute_input")
    events += await events_until(ws, "execute_input")
    ws.close()
    await jp_serverapp.web_app.settings["codeact_manager"].shutdown()

    store = EpisodeStore(codeact_db)  # what a restarted server reads
    episode = store.load(created["id"])
    store.close()
    assert episode.state.value == "interrupted" and "shut down" in episode.reason
    statuses = [s.data["status"] for s in episode.steps_of(StepKind.ACTION)]
    assert statuses == ["ok", "interrupted"]
    assert episode.steps_of(StepKind.ACTION)[0].data["outputs"][0]["text"] == "first\n"


async def test_kernel_killed_mid_action_under_the_servers_restarter(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": "<execute>\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n</execute>"}
    )
    started = time.monotonic()
    created = await start(jp_fetch, notebook, kernel_id)
    record = await wait_state(jp_fetch, created["id"], timeout=20)
    assert time.monotonic() - started < 10
    assert record["state"] == "failed" and "kernel died" in record["reason"]
    action = next(s for s in record["steps"] if s["kind"] == "action")
    assert action["data"]["status"] == "dead"


async def test_an_exported_notebook_is_imported_and_continued_on_a_fresh_kernel(
    jp_fetch, jp_root_dir, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": "<execute>\nrate = 0.2\n</execute>"},
        {"text": "<solution>set</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id, "set the rate")
    await wait_state(jp_fetch, created["id"])
    exported = await jp_fetch("codeact", "episodes", created["id"], "notebook")
    nb = nbformat.reads(exported.body.decode(), as_version=4)
    nb.metadata["codeact"]["record"]["id"] = "b" * 32  # as if from another server
    nbformat.write(nb, jp_root_dir / "shared.ipynb")

    imported = await post(jp_fetch, "episodes", "import", body={"notebook_path": "shared.ipynb"})
    assert imported["id"] == "b" * 32 and imported["state"] == "solved"
    assert imported["metadata"]["notebook_path"] == "shared.ipynb"
    again = await post(jp_fetch, "episodes", "import", body={"notebook_path": "shared.ipynb"})
    assert again["id"] == imported["id"]  # importing twice keeps one episode
    nbformat.write(nb, jp_root_dir / "copy.ipynb")
    moved = await post(jp_fetch, "episodes", "import", body={"notebook_path": "copy.ipynb"})
    assert moved["id"] == imported["id"] and moved["metadata"]["notebook_path"] == "copy.ipynb"

    fresh = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    fresh_id = json.loads(fresh.body)["id"]
    scripted.script(
        {"text": "<execute>\nprint(rate * 100)\n</execute>"},
        {"text": "<solution>20</solution>"},
    )
    await post(
        jp_fetch,
        "episodes",
        imported["id"],
        "messages",
        body={"text": "as a percentage", "kernel_id": fresh_id, "restore": True},
    )
    record = await wait_state(jp_fetch, imported["id"])
    assert record["state"] == "solved" and record["metadata"]["kernel_id"] == fresh_id
    actions = [s for s in record["steps"] if s["kind"] == "action"]
    assert actions[-1]["data"]["outputs"][0]["text"] == "20.0\n"

    code_only = await jp_fetch(
        "codeact", "episodes", created["id"], "notebook", params={"code_only": "1"}
    )
    nbformat.write(
        nbformat.reads(code_only.body.decode(), as_version=4), jp_root_dir / "clean.ipynb"
    )
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", "import", body={"notebook_path": "clean.ipynb"})
    assert err.value.code == 400


async def test_a_magic_request_starts_once_and_finds_its_notebook_by_kernel(
    jp_fetch, scripted, notebook
):
    session = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps({"path": notebook, "type": "notebook", "kernel": {"name": "python3"}}),
    )
    kernel_id = json.loads(session.body)["kernel"]["id"]
    scripted.script({"text": "<solution>once</solution>"})
    body = {"task": "t", "kernel_id": kernel_id, "request_id": "r" * 32, "anchor_cell_id": "m1"}
    first = await jp_fetch("codeact", "episodes", method="POST", body=json.dumps(body))
    assert first.code == 201
    created = json.loads(first.body)
    assert created["metadata"]["notebook_path"] == NOTEBOOK
    await wait_state(jp_fetch, created["id"])
    again = await jp_fetch("codeact", "episodes", method="POST", body=json.dumps(body))
    assert again.code == 200 and json.loads(again.body)["id"] == created["id"]
    found = await get(jp_fetch, "episodes", params={"request_id": "r" * 32})
    assert [e["id"] for e in found["episodes"]] == [created["id"]]
    assert (await get(jp_fetch, "episodes", params={"request_id": "x"}))["episodes"] == []
    assert len(scripted.requests) == 1  # the reopened notebook did not run it again
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", body={"task": "t", "kernel_id": "not-in-a-session"})
    assert err.value.code == 400


async def test_a_stream_opened_on_a_finished_episode_gets_the_follow_ups_events(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    scripted.script({"text": "<solution>first</solution>"}, {"text": "<solution>second</solution>"})
    created = await start(jp_fetch, notebook, kernel_id)
    await wait_state(jp_fetch, created["id"])
    ws = await jp_ws_fetch("codeact", "episodes", created["id"], "events")
    await events_until(ws, "caught_up")
    await post(jp_fetch, "episodes", created["id"], "messages", body={"text": "again"})
    events = await events_until(ws, "final")
    ws.close()
    assert events[0]["type"] == "user_message" and events[-1]["data"]["state"] == "solved"
