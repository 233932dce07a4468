"""Remote kernels through a Jupyter Kernel Gateway, next to local kernels, in one run.

Two Jupyter servers (child processes, codeact-lab enabled): one with its own kernels, one
started with ``--gateway-url`` whose kernels a ``jupyter-kernelgateway`` on 127.0.0.1
owns. The scripted model plays the same episodes on both. Printed side by side:

1. per action, an N-action episode of ``pass`` (POST to the final event), and for the
   gateway its floor: ``pass`` over a bare WebSocket to the gateway;
2. the server's CPU while a remote action runs (``time.sleep``): jupyter_server's gateway
   client spins on its message queues; the kernel executor polls them with a back-off;
3. Stop during ``time.sleep(600)``: time to the final event, and to the next action's
   answer (the kernel is idle again); target ≤ 0.5 s.

    python benchmarks/gateway.py [--actions 100] [--stops 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any
from urllib.request import urlopen

import psutil
import websocket  # websocket-client, as jupyter_server's gateway client uses

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from benchmarks.server_path import Server, free_port, read_until, start_episode
from tests.scripted_model import ScriptedModel


def start_gateway(log: Any) -> tuple[str, subprocess.Popen[bytes]]:
    """A kernel gateway on 127.0.0.1 (no token: jupyter_server's gateway kernel client
    cannot send one on its WebSocket), ready to answer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kernel_gateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={port}",
            "--JupyterWebsocketPersonality.list_kernels=True",  # the server lists its kernels
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_GATEWAY")},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urlopen(f"{url}/api/kernelspecs", timeout=5):
                return url, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the kernel gateway did not start") from None
            time.sleep(0.2)


def raw_per_action(url: str, kernel_id: str, actions: int) -> float:
    """The floor: ``pass`` over a bare WebSocket to the gateway, reply and idle awaited."""
    ws = websocket.create_connection(f"ws{url[4:]}/api/kernels/{kernel_id}/channels")
    try:

        def run() -> None:
            msg_id = uuid.uuid4().hex
            header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                      "session": "raw", "version": "5.3", "date": ""}  # fmt: skip
            content = {"code": "pass", "silent": False, "store_history": True,
                       "user_expressions": {}, "allow_stdin": False}  # fmt: skip
            ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                "content": content, "channel": "shell"}))  # fmt: skip
            idle = replied = False
            while not (idle and replied):
                msg = json.loads(ws.recv())
                if msg["parent_header"].get("msg_id") == msg_id:
                    replied = replied or msg["msg_type"] == "execute_reply"
                    idle = idle or msg.get("content", {}).get("execution_state") == "idle"

        for _ in range(5):
            run()
        started = time.perf_counter()
        for _ in range(actions):
            run()
        return (time.perf_counter() - started) / actions
    finally:
        ws.close()


async def per_action(server: Server, model: ScriptedModel, kernel_id: str, actions: int) -> float:
    count = {"n": 0}

    def reply(_body: dict[str, Any]) -> dict[str, Any]:
        count["n"] += 1
        done = count["n"] > actions
        return {"text": "<solution>done</solution>" if done else "<execute>\npass\n</execute>"}

    model.reset()
    model.default = reply
    started = time.perf_counter()
    _, ws = await start_episode(server, kernel_id, "benchmark")
    final = await read_until(ws, "final")
    ws.close()
    assert final["data"]["state"] == "solved", final
    return (time.perf_counter() - started) / actions


async def cpu_while_running(server: Server, model: ScriptedModel, kernel_id: str) -> float:
    model.reset()
    model.script(
        {"text": "<execute>\nimport time\ntime.sleep(3)\n</execute>"},
        {"text": "<solution>done</solution>"},
    )
    _, ws = await start_episode(server, kernel_id, "sleep")
    await read_until(ws, "execute_input")
    process = psutil.Process(server.proc.pid)
    before, started = process.cpu_times(), time.monotonic()
    await asyncio.sleep(2)
    after = process.cpu_times()
    await read_until(ws, "final")
    ws.close()
    used = (after.user + after.system) - (before.user + before.system)
    return used / (time.monotonic() - started)


async def stop(server: Server, model: ScriptedModel, kernel_id: str) -> tuple[float, float]:
    model.reset()
    model.script(
        {"text": "<execute>\nimport time\ntime.sleep(600)\n</execute>"},
        {"text": "<execute>\nprint('idle')\n</execute>"},
        {"text": "<solution>done</solution>"},
    )
    episode_id, ws = await start_episode(server, kernel_id, "sleep")
    await read_until(ws, "execute_input")
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    await server.call("POST", f"codeact/episodes/{episode_id}/stop")
    await read_until(ws, "final")
    to_final = time.perf_counter() - started
    ws.close()
    _, ws = await start_episode(server, kernel_id, "next")
    await read_until(ws, "action_finished")
    to_idle = time.perf_counter() - started
    await read_until(ws, "final")
    ws.close()
    return to_final, to_idle


async def measure(
    server: Server, model: ScriptedModel, actions: int, stops: int, gateway: str | None = None
) -> dict[str, Any]:
    await server.wait_ready()
    kernel_id = (await server.call("POST", "api/kernels", {"name": "python3"}))["id"]
    await per_action(server, model, kernel_id, 10)  # warm up
    return {
        "raw": raw_per_action(gateway, kernel_id, actions) if gateway else None,
        "action": min([await per_action(server, model, kernel_id, actions) for _ in range(3)]),
        "cpu": await cpu_while_running(server, model, kernel_id),
        "stops": [await stop(server, model, kernel_id) for _ in range(stops)],
    }


async def main(actions: int, stops: int) -> None:
    model = ScriptedModel().start()
    with (
        tempfile.TemporaryDirectory(prefix="codeact-gateway-") as workdir,
        tempfile.TemporaryFile() as log,
    ):
        url, gateway = start_gateway(log)
        local = Server(model.base_url, os.path.join(workdir, "local"))
        remote = Server(model.base_url, os.path.join(workdir, "remote"), [f"--gateway-url={url}"])
        try:
            results = {
                "local kernel": await measure(local, model, actions, stops),
                "gateway kernel": await measure(remote, model, actions, stops, url),
            }
        finally:
            local.close()
            remote.close()
            gateway.terminate()
            gateway.wait(20)
            model.stop()

    print(f"{'':34}" + "".join(f"{name:>16}" for name in results))
    rows = [
        (f"1. per action, {actions} actions", lambda r: f"{r['action'] * 1000:.2f} ms"),
        (
            "   a bare WebSocket to the gateway",
            lambda r: f"{r['raw'] * 1000:.2f} ms" if r["raw"] else "",
        ),
        ("2. server CPU during an action", lambda r: f"{r['cpu'] * 100:.0f}% of a core"),
        (
            f"3. Stop → final event (median of {stops})",
            lambda r: f"{statistics.median(s[0] for s in r['stops']) * 1000:.0f} ms",
        ),
        (
            "   Stop → next action answered",
            lambda r: f"{statistics.median(s[1] for s in r['stops']) * 1000:.0f} ms",
        ),
    ]
    for label, cell in rows:
        print(f"{label:34}" + "".join(f"{cell(r):>16}" for r in results.values()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--stops", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.actions, args.stops))
