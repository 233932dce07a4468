"""Remote kernels: episodes on kernels a real Jupyter Kernel Gateway provides.

A ``jupyter-kernelgateway`` process on 127.0.0.1 owns the kernels; a Jupyter server
started with ``--gateway-url`` runs codeact-lab and reaches them only through the
gateway (HTTP for start/interrupt, a WebSocket for the channels). This is the set-up
that scales out: Enterprise Gateway on Kubernetes works the same way.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from types import SimpleNamespace
from urllib.request import urlopen

import pytest

pytest.importorskip("kernel_gateway")  # the test extra installs it

from benchmarks.gateway import start_gateway
from benchmarks.server_path import Server, read_until, start_episode
from codeact_lab.agent.kernel_executor import _next_msg


def gateway_get(url: str, path: str) -> object:
    with urlopen(f"{url}/{path}", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def gateway(tmp_path):
    with open(tmp_path / "gateway.log", "w") as log:
        url, proc = start_gateway(log)
        yield url, proc
        proc.terminate()
        proc.wait(20)


@pytest.mark.timeout(180)
async def test_an_episode_runs_and_stops_on_a_gateway_kernel(gateway, scripted, tmp_path):
    url, gateway_proc = gateway
    server = Server(scripted.base_url, str(tmp_path / "server"), [f"--gateway-url={url}"])
    try:
        await server.wait_ready()
        kernel_id = (await server.call("POST", "api/kernels", {"name": "python3"}))["id"]
        remote = gateway_get(url, "api/kernels")
        assert kernel_id in [k["id"] for k in remote]  # the gateway owns the kernel

        # An error, then its fix, on the remote kernel.
        scripted.script(
            {"text": "<execute>\nimport os\nparent = os.getppid()\nprint(totl)\n</execute>"},
            {"text": "A typo.\n<execute>\ntotal = 6 * 7\nprint(total, parent)\n</execute>"},
            {"text": "<solution>42</solution>"},
        )
        episode_id, ws = await start_episode(server, kernel_id, "six times seven")
        final = await asyncio.wait_for(read_until(ws, "final"), 60)
        ws.close()
        assert final["data"]["state"] == "solved", final
        record = await server.call("GET", f"codeact/episodes/{episode_id}")
        actions = [s["data"] for s in record["steps"] if s["kind"] == "action"]
        assert [a["status"] for a in actions] == ["error", "ok"]
        assert actions[0]["outputs"][-1]["ename"] == "NameError"
        observation = next(s["data"]["text"] for s in record["steps"] if s["kind"] == "observation")
        assert "NameError: name 'totl' is not defined" in observation
        answer, parent = actions[1]["outputs"][0]["text"].split()
        assert answer == "42"
        assert int(parent) == gateway_proc.pid  # the kernel is the gateway's child, not ours

        # Stop interrupts the remote kernel: the episode ends and the kernel is free again.
        scripted.script({"text": "<execute>\nimport time\ntime.sleep(600)\n</execute>"})
        episode_id, ws = await start_episode(server, kernel_id, "sleep")
        await asyncio.wait_for(read_until(ws, "execute_input"), 60)
        await asyncio.sleep(0.3)  # inside time.sleep
        started = time.monotonic()
        await server.call("POST", f"codeact/episodes/{episode_id}/stop")
        final = await asyncio.wait_for(read_until(ws, "final"), 30)
        stopped_in = time.monotonic() - started
        ws.close()
        assert final["data"]["state"] == "stopped"
        assert stopped_in < 5, stopped_in  # a speed bar lives in the benchmarks, not here
        record = await server.call("GET", f"codeact/episodes/{episode_id}")
        action = next(s["data"] for s in record["steps"] if s["kind"] == "action")
        assert action["status"] == "interrupted"
        assert any(o.get("ename") == "KeyboardInterrupt" for o in action["outputs"])

        scripted.script(
            {"text": "<execute>\nprint('after the stop')\n</execute>"},
            {"text": "<solution>done</solution>"},
        )
        episode_id, ws = await start_episode(server, kernel_id, "go on")
        final = await asyncio.wait_for(read_until(ws, "final"), 30)
        ws.close()
        assert final["data"]["state"] == "solved"
        record = await server.call("GET", f"codeact/episodes/{episode_id}")
        action = next(s["data"] for s in record["steps"] if s["kind"] == "action")
        assert action["outputs"][0]["text"] == "after the stop\n"
        state = gateway_get(url, f"api/kernels/{kernel_id}")
        assert state["execution_state"] == "idle"
    finally:
        server.close()


async def test_queue_fed_channels_are_polled_not_spun():
    """jupyter_server's gateway channels are thread-fed queues: waiting on one must not
    burn a core (their own get_msg spins on asyncio.sleep(0))."""
    channel: queue.Queue = queue.Queue()
    client = SimpleNamespace(iopub_channel=channel)
    threading.Timer(0.3, channel.put, args=({"msg_id": "late"},)).start()
    cpu = time.process_time()
    assert await _next_msg(client, "iopub_channel", 5) == {"msg_id": "late"}
    assert time.process_time() - cpu < 0.1  # spinning for 0.3 s would use about 0.3 s
    with pytest.raises(queue.Empty):
        await _next_msg(client, "iopub_channel", 0.05)
