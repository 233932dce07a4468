"""One server, many episodes: concurrency, memory per idle episode, growth with turns.

A real ``jupyter server`` (a child process, codeact-lab enabled; ``server_path.Server``)
runs the episodes; this process plays the browser and the model (the scripted server).
Every figure is printed next to its baseline from the same run:

1. N concurrent episodes on N kernels: each episode's time next to its time alone
   (target: none slower than 1.5×). The model streams each reply over 0.2 s and each
   action sleeps 50 ms, so an episode waits on its model and kernel as a real one does;
   the figures show whether the server serializes them. The same with an instant model
   and ``pass`` actions shows the CPU-bound limit of the machine.
2. Memory per finished episode: the server's RSS before and after M finished episodes
   (target ≤ 1 MB each; the server keeps the 20 most recent in memory and the store
   has the rest, so this stays flat as M grows), next to each record's size as JSON.
3. Growth with the number of turns, for actions that print 1 KB, 100 KB and 1 MB: the
   prompt the model is sent at each turn (characters, and tokens by the loop's estimate)
   and the store's size, on two servers of their own: with ``CodeAct.context_tokens`` =
   4,096 the prompt is condensed and levels off under 4,096 - 1,024 tokens; with a
   context no prompt reaches it is never condensed, as before condensing existed, and
   grows by one truncated observation (``max_output_chars`` = 4,000) and one reply per
   turn. The store keeps outputs whole (up to 1 MB) either way.

4. Live output: one action that prints 1 MB over 10 s. The bytes the WebSocket carried
   and the server's peak memory growth while it ran, next to the output's own size
   (target: both within 2×), and next to what whole snapshots every 50 ms (the live
   output before it became patches) would have sent.

    python benchmarks/scale.py [--episodes 20] [--turns 8] [--rounds 2] [--idle 200]
                               [--growth-turns 20] [--live-seconds 10] [--sections 1,2,3,4]
    python benchmarks/scale.py --sections 3 --growth-turns 40   # the prompt per turn only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from benchmarks.server_path import Server, read_until, start_episode
from codeact_lab.agent.output_patch import apply_patch
from codeact_lab.agent.tokens import prompt_tokens
from tests.scripted_model import ScriptedModel

SLOW_ACTION = "<execute>\nimport time\ntime.sleep(0.05)\nprint('step')\n</execute>"
FAST_ACTION = "<execute>\npass\n</execute>"
ANSWER = "<solution>done</solution>"
# Section 3: the embedded model's context before issue 10, and one no prompt reaches.
CONDENSED_CONTEXT = 4096
UNLIMITED = 10**9


def turn_of(body: dict[str, Any]) -> int:
    return sum(m["role"] == "assistant" for m in body["messages"]) + 1


def player(turns: int, action: str, delay: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A stateless model: ``turns`` actions, then the answer, for any number of episodes."""
    chunk = max(1, len(action) // 8)

    def play(body: dict[str, Any]) -> dict[str, Any]:
        text = action if turn_of(body) <= turns else ANSWER
        return {"text": text, "chunk": chunk, "delay": delay}

    return play


async def timed_episode(server: Server, kernel_id: str) -> float:
    started = time.perf_counter()
    _, ws = await start_episode(server, kernel_id, "benchmark")
    final = await read_until(ws, "final")
    ws.close()
    assert final["data"]["state"] == "solved", final
    return time.perf_counter() - started


async def concurrency(
    server: Server, model: ScriptedModel, kernels: list[str], turns: int, rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Per workload: each episode's time alone and among all, best of ``rounds`` each
    (rounds interleave, so load from other processes hits both alike)."""
    results = {}
    for name, action, delay in (
        ("waiting on model and kernel", SLOW_ACTION, 0.025),
        ("CPU-bound (instant model, pass)", FAST_ACTION, 0.0),
    ):
        model.reset()
        model.default = player(turns, action, delay)
        await timed_episode(server, kernels[0])  # warm up
        alone = [float("inf")] * len(kernels)
        together = [float("inf")] * len(kernels)
        for _ in range(rounds):
            for i, k in enumerate(kernels):
                alone[i] = min(alone[i], await timed_episode(server, k))
            times = await asyncio.gather(*(timed_episode(server, k) for k in kernels))
            together = [min(a, b) for a, b in zip(together, times, strict=True)]
        results[name] = (alone, together)
    return results


async def idle_memory(server: Server, model: ScriptedModel, kernel_id: str, count: int):
    model.reset()
    model.default = player(1, "<execute>\nprint('a line of output ' * 10)\n</execute>", 0.0)
    for _ in range(20):  # warm up: caches, the allocator's arenas, the store
        await timed_episode(server, kernel_id)
    process = psutil.Process(server.proc.pid)
    before = process.memory_info().rss
    for _ in range(count):
        await timed_episode(server, kernel_id)
    after = process.memory_info().rss
    listing = await server.call("GET", f"codeact/episodes?limit={count}")
    record = await server.call("GET", f"codeact/episodes/{listing['episodes'][0]['id']}")
    return (after - before) / count, len(json.dumps(record)), before, after


def store_bytes(workdir: str) -> int:
    """What the store holds of every event, in bytes (its file grows by whole pages)."""
    path = os.path.join(workdir, "episodes.sqlite")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM events").fetchone()[0])


def file_bytes(workdir: str) -> int:
    db = os.path.join(workdir, "episodes.sqlite")
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


async def growth(
    server: Server, model: ScriptedModel, kernel_id: str, turns: int, sizes: list[int]
):
    """Per output size: [(prompt chars, prompt tokens, store bytes)] at the start of each turn."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for size in sizes:
        seen: list[tuple[int, int, int]] = []
        action = f"<execute>\nprint('x' * {size})\n</execute>"

        def play(body: dict[str, Any], action: str = action, seen: list = seen) -> dict[str, Any]:
            messages = body["messages"]
            prompt = sum(len(str(m.get("content"))) for m in messages)
            seen.append((prompt, prompt_tokens(messages), store_bytes(server.workdir)))
            # Counted here: a condensed prompt no longer holds every earlier reply.
            return {"text": action if len(seen) <= turns else ANSWER, "chunk": 64}

        model.reset()
        model.default = play
        await timed_episode(server, kernel_id)
        out[size] = seen
    return out


async def live_output(server: Server, model: ScriptedModel, kernel_id: str, seconds: float):
    """(output chars, WebSocket bytes, bytes whole snapshots would have been, RSS growth)."""
    writes = 200
    line = "x" * (1_000_000 // writes - 1)
    action = (
        f"<execute>\nimport time\nfor _ in range({writes}):\n    print({line!r})\n"
        f"    time.sleep({seconds / writes})\n</execute>"
    )
    model.reset()
    model.script({"text": action}, {"text": ANSWER})
    process = psutil.Process(server.proc.pid)
    base = process.memory_info().rss
    peak = [base]
    sampling = True

    async def sample() -> None:
        while sampling:
            peak[0] = max(peak[0], process.memory_info().rss)
            await asyncio.sleep(0.05)

    sampler = asyncio.ensure_future(sample())
    _, ws = await start_episode(server, kernel_id, "print a megabyte")
    sent = snapshots = 0
    outputs: list[dict[str, Any]] = []
    while True:
        message = await ws.read_message()
        assert message is not None, "the events WebSocket closed"
        sent += len(message)
        event = json.loads(message)
        if event["type"] == "output":
            outputs = apply_patch(outputs, event["data"])
            snapshots += len(json.dumps({**event, "data": {"outputs": outputs}}))
        if event["type"] == "final":
            break
    ws.close()
    sampling = False
    await sampler
    size = writes * (len(line) + 1)
    return size, sent, snapshots, peak[0] - base


async def growth_with_context(
    model: ScriptedModel, workdir: str, context: int, turns: int, sizes: list[int]
):
    """Section 3 on a server of its own, whose model has a context of ``context`` tokens."""
    folder = os.path.join(workdir, f"context-{context}")
    os.makedirs(folder)
    server = Server(model.base_url, folder, [f"--CodeAct.context_tokens={context}"])
    try:
        await server.wait_ready()
        kernel = (await server.call("POST", "api/kernels", {"name": "python3"}))["id"]
        return await growth(server, model, kernel, turns, sizes), file_bytes(folder)
    finally:
        server.close()


def print_growth(
    title: str, grown: dict[int, list[tuple[int, int, int]]], sizes: list[int], turns: int
) -> None:
    print(f"   {title}")
    header = "   turn " + "".join(f"{f'prompt, {s // 1000} KB out':>26}" for s in sizes)
    print(header + "".join(f"{f'store, {s // 1000} KB out':>20}" for s in sizes))
    marks = sorted({1, 2, 5, 10, 20, 40, turns + 1} & set(range(1, turns + 2)))
    for t in marks:
        prompts = "".join(
            f"{grown[s][t - 1][0]:>9,} chars {grown[s][t - 1][1]:>6,} tok" for s in sizes
        )
        stores = "".join(f"{grown[s][t - 1][2] / 2**20:>16.2f} MiB" for s in sizes)
        print(f"   {t:>4} {prompts}{stores}")
    for s in sizes:
        steps = [b[1] - a[1] for a, b in zip(grown[s], grown[s][1:], strict=False)]
        top = max(tokens for _, tokens, _ in grown[s])
        store = (grown[s][-1][2] - grown[s][0][2]) / max(1, len(steps)) / 1024
        print(
            f"   {s // 1000:>5} KB outputs: the prompt changes by {min(steps):,} to {max(steps):,} "
            f"tokens a turn, {top:,} at most; the store grows {store:,.0f} KiB a turn"
        )


async def main(args: argparse.Namespace) -> None:
    sections = {int(n) for n in args.sections.split(",")}
    model = ScriptedModel().start()
    with tempfile.TemporaryDirectory(prefix="codeact-scale-") as workdir:
        server = Server(model.base_url, workdir)
        try:
            await server.wait_ready()
            kernels = [
                (await server.call("POST", "api/kernels", {"name": "python3"}))["id"]
                for _ in range(args.episodes if 1 in sections else 3)
            ]
            load = os.getloadavg()[0]
            if 1 in sections:
                conc = await concurrency(server, model, kernels, args.turns, args.rounds)
            if 2 in sections:
                idle = await idle_memory(server, model, kernels[0], args.idle)
            sizes = [1_000, 100_000, 1_000_000]
            if 3 in sections:
                turns = args.growth_turns
                grown, grown_disk = await growth_with_context(
                    model, workdir, UNLIMITED, turns, sizes
                )
                condensed, condensed_disk = await growth_with_context(
                    model, workdir, CONDENSED_CONTEXT, turns, sizes
                )
            if 4 in sections:
                # Twice: the first 1 MB output of a server also grows its allocator's arenas.
                lives = [
                    await live_output(server, model, kernels[2 % len(kernels)], args.live_seconds)
                    for _ in range(2)
                ]
        finally:
            server.close()
            model.stop()

    if 1 in sections:
        print(
            f"1. {args.episodes} concurrent episodes on {args.episodes} kernels, {args.turns} "
            f"actions each, best of {args.rounds} rounds ({os.cpu_count()} cores, load average "
            f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
        )
        for name, (alone, together) in conc.items():
            ratios = sorted(t / a for t, a in zip(together, alone, strict=True))
            print(f"   {name}")
            print(
                f"     alone        median {statistics.median(alone):6.2f} s   "
                f"(min {min(alone):.2f}, max {max(alone):.2f})"
            )
            print(
                f"     concurrent   median {statistics.median(together):6.2f} s   "
                f"(min {min(together):.2f}, max {max(together):.2f})"
            )
            print(
                f"     concurrent / alone: median {statistics.median(ratios):.2f}×, "
                f"worst {ratios[-1]:.2f}× (target ≤ 1.5×)"
            )
    if 2 in sections:
        per_episode, record_size, rss0, rss1 = idle
        print(f"2. memory per idle (finished) episode, {args.idle} episodes held by the server")
        print(
            f"   server RSS {rss0 / 2**20:.1f} → {rss1 / 2**20:.1f} MiB: "
            f"{per_episode / 1024:.1f} KiB per episode (target ≤ 1024 KiB); "
            f"one record as JSON: {record_size / 1024:.1f} KiB"
        )
    if 3 in sections:
        print(
            f"3. growth with turns ({args.growth_turns} actions; max_output_chars 4,000; "
            f"load average {load:.1f} at the start)"
        )
        print_growth(
            f"never condensed (CodeAct.context_tokens = {UNLIMITED:,}): the prompt as it "
            "was before condensing",
            grown,
            sizes,
            args.growth_turns,
        )
        print_growth(
            f"condensed: CodeAct.context_tokens = {CONDENSED_CONTEXT:,}, max_tokens 1,024 "
            f"(a prompt of at most {CONDENSED_CONTEXT - 1024:,} tokens)",
            condensed,
            sizes,
            args.growth_turns,
        )
        print(
            f"   the store's files (SQLite + WAL) after each series: {grown_disk / 2**20:.1f} MiB "
            f"never condensed, {condensed_disk / 2**20:.1f} MiB condensed"
        )
    if 4 in sections:
        print(f"4. live output: one action printing 1.0 MB over {args.live_seconds:g} s, twice")
        for run, (size, sent, snapshots, grew) in zip(("first", "again"), lives, strict=True):
            print(
                f"   {run}: WebSocket {sent / 1e6:.2f} MB ({sent / size:.2f}× the output; "
                f"target ≤ 2×; whole snapshots would have been {snapshots / 1e6:.1f} MB, "
                f"{snapshots / size:.0f}×); server peak memory growth {grew / 1e6:.2f} MB "
                f"({grew / size:.2f}×; target ≤ 2×)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--growth-turns", type=int, default=20)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--sections", default="1,2,3,4", help="which sections to run: 3 or 1,3")
    asyncio.run(main(parser.parse_args()))
