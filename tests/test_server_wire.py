"""The server's real answers follow the wire's schema (codeact_lab/wire.schema.json).

One episode on a real jupyter_server and kernel, scripted to make every kind of step and
most kinds of event (a retry, a rejection, an edited approval, live output, an error
action, a solution, a stop, a model error), and every answer checked against the schema:
the routes' replies, each message of the live event stream and of a replay.
"""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from codeact_lab.agent import wire_schema

from .test_server_episodes import codeact_db as codeact_db
from .test_server_episodes import events_until, get, post, start, wait_state
from .test_server_episodes import jp_server_config as jp_server_config
from .test_server_episodes import kernel_id as kernel_id
from .test_server_episodes import notebook as notebook


def check(name: str, instance: object) -> None:
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}"
        for e in wire_schema.validator(name).iter_errors(instance)
    ]
    assert problems == [], f"{name}: {json.dumps(instance)[:400]}"


async def read_all(ws, until: str = "final") -> list[dict]:
    return await events_until(ws, until, timeout=60)


async def test_every_answer_and_event_follows_the_schema(
    jp_fetch, jp_ws_fetch, scripted, notebook, kernel_id
):
    check("Health", await get(jp_fetch, "health"))
    check("ServerConfig", await get(jp_fetch, "config"))
    scripted.script(
        {"status": 500, "message": "busy", "headers": {"Retry-After": "0"}},
        {"text": "<execute>print('risky')</execute>", "chunk": 5},
        {"text": "<execute>print(undefined_name)</execute>"},
        {"text": "<execute>print(6 * 7)</execute>"},
        {"text": "It is <solution>42</solution>"},
        {"text": "<execute>import time; time.sleep(30)</execute>"},
        {"status": 400, "message": "the model refuses"},
    )
    created = await start(
        jp_fetch, notebook, kernel_id, "six times seven", settings={"approval": "ask"}
    )
    check("EpisodeDescription", created)
    episode_id = created["id"]
    ws = await jp_ws_fetch("codeact", "episodes", episode_id, "events")
    live = await read_all(ws, "awaiting_approval")
    check("EpisodeDescription", await get(jp_fetch, "episodes", episode_id))
    reply = await post(jp_fetch, "episodes", episode_id, "reject", body={"note": "not that"})
    check("EpisodeDescription", reply)
    live += await read_all(ws, "awaiting_approval")
    # The user's edit runs instead: output while it runs, then it raises.
    edit = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.1)\n1 / 0"
    reply = await post(jp_fetch, "episodes", episode_id, "approve", body={"code": edit})
    check("EpisodeDescription", reply)
    live += await read_all(ws, "awaiting_approval")
    await post(jp_fetch, "episodes", episode_id, "approve", body={"all": True})
    live += await read_all(ws)
    check("EpisodeDescription", await wait_state(jp_fetch, episode_id))

    # A follow-up, stopped while its action awaits approval.
    reply = await post(jp_fetch, "episodes", episode_id, "messages", body={"text": "again?"})
    check("EpisodeDescription", reply)
    live += await read_all(ws, "awaiting_approval")
    check("EpisodeDescription", await post(jp_fetch, "episodes", episode_id, "stop"))
    live += await read_all(ws)
    with pytest.raises(HTTPClientError) as refused:  # nothing awaits approval now
        await post(jp_fetch, "episodes", episode_id, "approve")
    assert refused.value.code == 409
    check("ErrorReply", json.loads(refused.value.response.body))

    # Another follow-up: the model refuses (an error step).
    await post(jp_fetch, "episodes", episode_id, "messages", body={"text": "once more"})
    live += await read_all(ws)
    ws.close()
    record = await wait_state(jp_fetch, episode_id)
    check("EpisodeDescription", record)
    check(
        "EpisodeRecord",
        {k: v for k, v in record.items() if k not in ("running", "awaiting_approval")},
    )
    check("EpisodeList", await get(jp_fetch, "episodes"))
    check("EpisodeList", await get(jp_fetch, "episodes", params={"notebook_path": notebook}))

    replay_ws = await jp_ws_fetch("codeact", "episodes", episode_id, "events")
    replay = await events_until(replay_ws, "caught_up")
    replay_ws.close()
    for message in live + replay:
        check("StreamMessage", message)

    kinds = {s["kind"] for s in record["steps"]}
    assert kinds == {"user", "assistant", "action", "observation", "solution", "error"}
    types = {m["type"] for m in live + replay}
    assert types >= {
        "episode_started",
        "user_message",
        "turn_started",
        "text_delta",
        "model_retry",
        "assistant_message",
        "action",
        "awaiting_approval",
        "approval",
        "action_started",
        "execute_input",
        "output",
        "action_finished",
        "observation",
        "solution",
        "error",
        "final",
        "caught_up",
    }
    # Live clients got a finished action's outputs as a patch; the replay has them whole.
    finished = [m["data"] for m in live if m["type"] == "action_finished"]
    assert any("outputs_patch" in d for d in finished)
    assert not any("outputs_patch" in m["data"] for m in replay if m["type"] == "action_finished")
    statuses = [s["data"]["status"] for s in record["steps"] if s["kind"] == "action"]
    assert statuses == ["rejected", "error", "ok", "skipped"]
    assert [s["data"]["state"] for s in replay if s["type"] == "final"] == [
        "solved",
        "stopped",
        "failed",
    ]


async def test_an_unknown_episode_and_a_bad_request_answer_the_error_shape(
    jp_fetch, notebook, kernel_id
):
    with pytest.raises(HTTPClientError) as missing:
        await get(jp_fetch, "episodes", "0" * 32)
    assert missing.value.code == 404
    check("ErrorReply", json.loads(missing.value.response.body))
    with pytest.raises(HTTPClientError) as bad:
        await post(jp_fetch, "episodes", body={"notebook_path": notebook, "kernel_id": kernel_id})
    assert bad.value.code == 400
    check("ErrorReply", json.loads(bad.value.response.body))
