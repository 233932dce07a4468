"""Hardening on a real server: credentials out of kernels and away from unconfigured
endpoints, every field type-checked, a bad base_url refused without locking the kernel,
hidden and malformed files refused, a full disk ends the episode, another live server's
episodes left alone."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import nbformat
import pytest
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.httpclient import HTTPClientError

from codeact_lab.agent import Episode, EventType, StepKind
from codeact_lab.server.kernel_env import keep_credentials_from_kernels
from codeact_lab.server.store import EpisodeStore

from .conftest import TEST_KEY
from .test_server_episodes import (  # noqa: F401 (fixtures)
    NOTEBOOK,
    codeact_db,
    get,
    kernel_id,
    notebook,
    post,
    server_config,
    start,
    wait_state,
)

SECRETS = {
    "OPENAI_ORG_ID": "org-secret-1234",
    "OPENAI_PROJECT_ID": "proj-secret-5678",
    "OPENAI_CUSTOM_HEADERS": "X-Gateway-Token: gw-secret-9012",
}


@pytest.fixture
def jp_server_config(scripted, codeact_db, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-also-in-the-environment-0000")
    return server_config(scripted, codeact_db, monkeypatch)


# ---- secrets ----------------------------------------------------------------

# What a model could run to get the key out in a form no redaction recognises.
EXFILTRATE = """
import os, base64, json
names = ['CODEACT_TEST_KEY', 'OPENAI_API_KEY', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID',
         'OPENAI_CUSTOM_HEADERS']
found = {n: os.environ.get(n) for n in names}
print(json.dumps({n: (v[::-1] if v else None) for n, v in found.items()}))
print(base64.b64encode(json.dumps(found).encode()).decode())
"""


async def test_the_kernel_holds_no_credential_to_leak_in_any_encoding(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script(
        {"text": f"<execute>{EXFILTRATE}</execute>"}, {"text": "<solution>done</solution>"}
    )
    created = await start(jp_fetch, notebook, kernel_id)
    record = await wait_state(jp_fetch, created["id"])
    action = next(s for s in record["steps"] if s["kind"] == "action")
    printed = action["data"]["outputs"][0]["text"]
    reversed_values = json.loads(printed.splitlines()[0])
    assert set(reversed_values.values()) == {None}
    decoded = base64.b64decode(printed.splitlines()[1]).decode()
    assert set(json.loads(decoded).values()) == {None}
    # The server's own client still had the key for the configured endpoint.
    assert scripted.headers[0]["Authorization"] == f"Bearer {TEST_KEY}"


async def test_a_restarted_or_renamed_kernel_gets_no_credentials_either(jp_asyncio_loop):
    km = AsyncMappingKernelManager()
    keep_credentials_from_kernels(km, ["CODEACT_SECRET_FOR_TEST"])
    os.environ["CODEACT_SECRET_FOR_TEST"] = "s3cr3t-value-1234"
    try:
        kid = await km.start_kernel(
            kernel_name="python3", env={**os.environ, "JPY_SESSION_NAME": "a.ipynb"}
        )
        km.update_env(kernel_id=kid, env={**os.environ, "JPY_SESSION_NAME": "b.ipynb"})
        kernel = km.get_kernel(kid)
        launch_env = kernel._launch_args["env"]  # what a restart starts the kernel with
        assert "CODEACT_SECRET_FOR_TEST" not in launch_env
        assert launch_env["JPY_SESSION_NAME"] == "b.ipynb"
    finally:
        del os.environ["CODEACT_SECRET_FOR_TEST"]
        await km.shutdown_all(now=True)


async def test_a_client_chosen_endpoint_gets_no_organization_project_or_headers(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script({"text": "<solution>a</solution>"}, {"text": "<solution>b</solution>"})
    first = await start(jp_fetch, notebook, kernel_id)
    await wait_state(jp_fetch, first["id"])
    other = scripted.base_url.replace("127.0.0.1", "localhost")
    second = await start(jp_fetch, notebook, kernel_id, settings={"base_url": other})
    await wait_state(jp_fetch, second["id"])
    configured, chosen = ({k.lower(): v for k, v in h.items()} for h in scripted.headers)
    assert configured["openai-organization"] == SECRETS["OPENAI_ORG_ID"]
    assert configured["x-gateway-token"] == "gw-secret-9012"
    assert chosen["authorization"] == "Bearer not-needed"
    assert not {"openai-organization", "openai-project", "x-gateway-token"} & set(chosen)
    assert "secret" not in json.dumps(chosen)


# ---- input validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('{"max_turns": Infinity}', "max_turns must be a whole number"),
        ('{"max_turns": NaN}', "max_turns must be a whole number"),
        ('{"max_turns": true}', "max_turns must be a whole number"),
        ('{"max_turns": 2.5}', "max_turns must be a whole number"),
        ('{"max_turns": "5"}', "max_turns must be a whole number"),
        ('{"temperature": 1e999}', "temperature must be a finite number"),
        ('{"action_timeout": 0}', "action_timeout must be in (0, 86400]"),
        ('{"model": 7}', "model must be a string"),
        ('{"approval": "yes"}', "approval must be auto or ask"),
        ('{"base_url": "ftp://x/v1"}', "base_url must be an http"),
    ],
)
async def test_every_setting_is_type_checked(jp_fetch, notebook, kernel_id, settings, message):
    body = f'{{"task": "t", "notebook_path": "{NOTEBOOK}", "kernel_id": "{kernel_id}", "settings": {settings}}}'
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("codeact", "episodes", method="POST", body=body)
    assert err.value.code == 400
    assert message in json.loads(err.value.response.body)["message"]


async def test_a_bad_base_url_is_refused_and_the_kernel_stays_usable(
    jp_fetch, scripted, notebook, kernel_id
):
    with pytest.raises(HTTPClientError) as err:
        await start(
            jp_fetch, notebook, kernel_id, settings={"base_url": "http://192.168.1.300:8000/v1"}
        )
    assert err.value.code == 400 and b"not a valid URL" in err.value.response.body
    scripted.script({"text": "<solution>fine</solution>"})
    created = await start(jp_fetch, notebook, kernel_id)  # not 409 "already running"
    assert (await wait_state(jp_fetch, created["id"]))["state"] == "solved"
    history = await get(jp_fetch, "episodes")
    assert [e["id"] for e in history["episodes"]] == [created["id"]]  # no half-made one


async def test_booleans_are_booleans(jp_fetch, scripted, notebook, kernel_id):
    scripted.script({"text": "<execute>print(1)</execute>"}, {"text": "<solution>1</solution>"})
    created = await start(jp_fetch, notebook, kernel_id, settings={"approval": "ask"})
    for _ in range(100):
        record = await get(jp_fetch, "episodes", created["id"])
        if record["awaiting_approval"]:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", created["id"], "approve", body={"all": "false"})
    assert err.value.code == 400 and b"all must be true or false" in err.value.response.body
    record = await get(jp_fetch, "episodes", created["id"])
    assert record["awaiting_approval"]  # nothing was approved
    await post(jp_fetch, "episodes", created["id"], "approve", body={"all": False})
    await wait_state(jp_fetch, created["id"])
    with pytest.raises(HTTPClientError) as err:
        await post(
            jp_fetch,
            "episodes",
            created["id"],
            "messages",
            body={"text": "again", "restore": "false"},
        )
    assert err.value.code == 400 and b"restore must be true or false" in err.value.response.body


async def test_a_hidden_notebook_is_refused(jp_fetch, jp_root_dir, kernel_id):
    (jp_root_dir / ".private").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / ".private" / "nb.ipynb")
    with pytest.raises(HTTPClientError) as err:
        await start(jp_fetch, ".private/nb.ipynb", kernel_id)
    assert err.value.code == 400 and b"hidden" in err.value.response.body


def exported(record) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["codeact"] = {"record": record}
    return nb


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "../../etc", "task": "t", "steps": []}, "episode id must be 32"),
        ({"id": "a" * 32, "task": "t", "steps": "nope"}, "steps must be a list"),
        ({"id": "a" * 32, "task": "t", "steps": [{"id": 1}]}, "data object"),
        (
            {
                "id": "a" * 32,
                "task": "t",
                "steps": [{"id": "1-x", "kind": "hack", "time": 0, "data": {}}],
            },
            "bad step kind",
        ),
        (
            {
                "id": "a" * 32,
                "task": "t",
                "steps": [{"id": "0001-action", "kind": "action", "time": 0, "data": {"code": 5}}],
            },
            "code as a string",
        ),
        ({"id": "a" * 32, "task": "t", "steps": [], "settings": "x"}, "not valid"),
    ],
)
async def test_a_malformed_imported_record_is_a_400(jp_fetch, jp_root_dir, record, message):
    nbformat.write(exported(record), jp_root_dir / "sent.ipynb")
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, "episodes", "import", body={"notebook_path": "sent.ipynb"})
    assert err.value.code == 400
    assert message in json.loads(err.value.response.body)["message"]


# ---- the store --------------------------------------------------------------


async def test_a_full_disk_ends_the_episode_with_a_clear_message(
    jp_fetch, jp_serverapp, scripted, notebook, kernel_id
):
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    scripted.script(
        {"text": "<execute>import time; time.sleep(1); print('y' * 200_000)</execute>"},
        {"text": "<solution>never</solution>"},
    )
    created = await start(jp_fetch, notebook, kernel_id)
    for _ in range(200):  # the action is running: the disk fills up now
        record = await get(jp_fetch, "episodes", created["id"])
        if any(s["kind"] == "action" for s in record["steps"]):
            break
        await asyncio.sleep(0.02)
    db = manager.store._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    record = await wait_state(jp_fetch, created["id"])
    assert record["state"] == "failed"
    assert "could not be saved" in record["reason"] and "full" in record["reason"]
    assert len(scripted.requests) == 1  # it did not go on to the next turn


@pytest.fixture
def other_servers_episode(codeact_db):
    """A running episode of another server that is alive and shares the store."""
    os.makedirs(os.path.dirname(codeact_db), exist_ok=True)
    store = EpisodeStore(codeact_db, owner="other-host:4242:beefcafe")
    store.register()
    store._db.execute("UPDATE servers SET host = 'other-host'")
    episode = Episode(task="the other server's")
    store.create(episode)
    store.append(episode, episode.event(EventType.EPISODE_STARTED, task=episode.task, settings={}))
    store.append(
        episode, episode.step_event(EventType.USER_MESSAGE, StepKind.USER, text=episode.task)
    )
    store._db.close()  # the other server goes on running (its row stays)
    return episode.id


async def test_starting_a_server_leaves_another_live_servers_episodes_running(
    other_servers_episode, jp_fetch, kernel_id
):
    record = await get(jp_fetch, "episodes", other_servers_episode)
    assert record["state"] is None and record["reason"] == ""
    with pytest.raises(HTTPClientError) as err:
        await post(
            jp_fetch,
            "episodes",
            other_servers_episode,
            "messages",
            body={"text": "mine now", "kernel_id": kernel_id},
        )
    assert err.value.code == 409 and b"another Jupyter server" in err.value.response.body
