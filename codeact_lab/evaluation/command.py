"""``codeact-lab eval``: compare action modes on a task suite, against any model.

codeact-lab eval --suite builtin --mode code,json,text --base-url URL --model NAME
codeact-lab eval --m3tooleval ~/src/code-act --mode code,json --jobs 4
codeact-lab eval --tasks 'decoder/|shop/' --limit 4 -o runs/small
codeact-lab eval --suite builtin --mode code --peer smolagents

Every (task, mode) gets a fresh kernel with the task's tools in it; --jobs run at once.
With --peer smolagents the same tasks also run through smolagents' CodeAgent on the same
model, after codeact-lab's, and both show side by side. The output folder holds
episodes.jsonl (every episode, written as it ends), summary.json and plot.png. Run the same command again to resume an interrupted run: finished pairs
are kept, the rest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..agent import ChatModel
from ..agent.llm import public_endpoint
from ..config import CodeAct, load_config_files
from ..local_model import ResolvedModel, resolve_model
from ..settings_table import ACTION_TIMEOUT, BASE_URL, MAX_TURNS, MODEL, TEMPERATURE
from .harness import EvalSettings, run_pairs
from .modes import ActionMode, parse_modes
from .peer_smolagents import PEERS, Endpoint, require_smolagents, run_peer_tasks
from .progress import Progress
from .report import plot, summarize, summary_json, table, task_table
from .results import RecordWriter, finished, key_of, latest, load_records
from .suite import EvalTask


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "eval",
        help="compare code, JSON and text actions on a task suite",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("--suite", choices=("builtin", "m3tooleval"), default=None)
    e.add_argument("--m3tooleval", metavar="PATH", help="a checkout of the CodeAct repository")
    e.add_argument("--mode", default="code,json,text", help="action modes, comma-separated")
    e.add_argument("--tasks", metavar="REGEX", help="only tasks whose id matches")
    e.add_argument("--limit", type=int, help="only the first N tasks (after --tasks)")
    e.add_argument("--jobs", "-j", type=int, default=1, help="tasks at once, a kernel each")
    e.add_argument("--output", "-o", help="folder for the results (default eval-SUITE-MODEL)")
    MODEL.add_to(e)
    BASE_URL.add_to(e)
    e.add_argument("--api-key-env", help="environment variable holding the API key")
    turns = MAX_TURNS.default
    MAX_TURNS.add_to(e, default=turns, help=f"turn limit per task ({turns})")
    TEMPERATURE.add_to(e, default=TEMPERATURE.default)
    e.add_argument("--max-tokens", type=int, default=512, help="per reply (512, as the paper)")
    # eval's own default, shorter than a session's
    ACTION_TIMEOUT.add_to(e, default=30.0, help="seconds per action (30)")
    e.add_argument("--kernel", default="python3", help="kernel name (python3)")
    e.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    e.add_argument(
        "--shared-model-cache",
        action="store_true",
        help="with the embedded model, do not restart it before each episode (saves about "
        "3 s an episode, but llama.cpp then reuses the previous episode's prompt and a "
        "task's result can depend on the task before it)",
    )
    e.add_argument(
        "--peer",
        choices=PEERS,
        help="also run the tasks through this agent, on the same model, side by side "
        "(smolagents' CodeAgent; pip install 'codeact-lab[eval]')",
    )


def _select(tasks: list[EvalTask], args: argparse.Namespace) -> list[EvalTask]:
    if args.tasks:
        pattern = re.compile(args.tasks)
        tasks = [t for t in tasks if pattern.search(t.id)]
    return tasks[: args.limit] if args.limit is not None else tasks


def _load_suite(args: argparse.Namespace) -> tuple[str, list[EvalTask]]:
    suite = args.suite or ("m3tooleval" if args.m3tooleval else "builtin")
    if suite == "m3tooleval":
        if not args.m3tooleval:
            raise ValueError("--suite m3tooleval needs --m3tooleval PATH (a checkout of code-act)")
        from .m3tooleval import m3tooleval_suite

        return suite, m3tooleval_suite(args.m3tooleval)
    from .tasks import builtin_suite

    return suite, builtin_suite()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def eval_command(args: argparse.Namespace) -> int:
    try:
        modes = parse_modes(args.mode)
        suite, tasks = _load_suite(args)
        if args.peer:
            require_smolagents()
    except Exception as err:
        print(f"codeact-lab: {err}", file=sys.stderr)
        return 2
    tasks = _select(tasks, args)
    if not tasks:
        print("codeact-lab: no task matches", file=sys.stderr)
        return 2
    return asyncio.run(_eval(args, suite, tasks, modes))


def _model(args: argparse.Namespace) -> tuple[CodeAct, ResolvedModel]:
    """The same choice of model as ``codeact-lab run``: flags, config, or the local model."""
    settings = CodeAct(config=load_config_files())
    for name in ("model", "base_url", "api_key_env"):
        if getattr(args, name):
            setattr(settings, name, getattr(args, name))
    return settings, resolve_model(settings)


async def _eval(
    args: argparse.Namespace, suite: str, tasks: list[EvalTask], modes: list[ActionMode]
) -> int:
    settings, model = _model(args)
    if not model.available or model.local:
        print(f"codeact-lab: {model.note}", file=sys.stderr)
    if not model.available:
        return 1
    llm_config = model.llm_config(temperature=args.temperature, max_tokens=args.max_tokens or None)
    output = args.output or f"eval-{suite}-{_slug(llm_config.model)}"
    jsonl = os.path.join(output, "episodes.jsonl")
    previous = load_records(jsonl)
    others = {r.get("model") for r in previous} - {llm_config.model}
    if others:
        print(
            f"codeact-lab: {jsonl} holds results of another model ({', '.join(map(str, others))}); "
            "choose another --output",
            file=sys.stderr,
        )
        return 2
    done = finished(previous)
    names = [m.name for m in modes] + ([args.peer] if args.peer else [])
    pairs = [(t, m) for t in tasks for m in modes if (t.id, m.name) not in done]
    # A task with files (the data domain) needs a kernel's folder of its own: the peer,
    # which runs in this process, cannot have one.
    peer_runnable = [t for t in tasks if args.peer and t.make_tools is not None]
    if args.peer and len(peer_runnable) < len(tasks):
        print(
            f"codeact-lab: {args.peer} skips {len(tasks) - len(peer_runnable)} task(s) whose "
            "files live in their kernel's folder",
            file=sys.stderr,
        )
    peer_tasks = [t for t in peer_runnable if (t.id, args.peer) not in done]
    total = len(tasks) * len(modes) + len(peer_runnable)
    todo = len(pairs) + len(peer_tasks)
    if done and todo:
        print(f"codeact-lab: resuming: {total - todo} of {total} already done", file=sys.stderr)

    eval_settings = EvalSettings(
        max_turns=args.max_turns,
        action_timeout=args.timeout,
        jobs=args.jobs,
        kernel_name=args.kernel,
        model=llm_config.model,
        endpoint=public_endpoint(llm_config.resolved_base_url()),
        temperature=llm_config.temperature,
        max_tokens=llm_config.max_tokens,
        extra_body=dict(llm_config.extra_body),
        suite=suite,
        hidden_env=frozenset({settings.api_key_env, "OPENAI_API_KEY"}),
    )
    llm = model.client(llm_config)

    async def endpoint() -> Endpoint:
        """The peer's endpoint: the same as codeact-lab's, the local model's server included."""
        if model.server is not None and llm_config.base_url == model.server.base_url:
            return Endpoint(await model.server.ensure_started(), model.server.api_key)
        return Endpoint(llm_config.resolved_base_url(), llm_config.resolved_api_key())

    try:
        interrupted = await _run(
            pairs,
            llm,
            eval_settings,
            jsonl,
            Progress(total, total - todo),
            peer_tasks,
            endpoint,
            _fresh_model(model, llm_config.base_url, args),
        )
    finally:
        await llm.close()
        await model.aclose()

    wanted = {(t.id, m.name) for t in tasks for m in modes} | {
        (t.id, str(args.peer)) for t in peer_runnable
    }
    records = [r for key, r in latest(load_records(jsonl)).items() if key in wanted]
    _report(
        args, output, eval_settings, tasks, names, records, complete=len(records) == len(wanted)
    )
    if interrupted:
        missing = len(wanted - {key_of(r) for r in records})
        print(
            f"codeact-lab: interrupted with {missing} pair(s) to go; run the same command to resume",
            file=sys.stderr,
        )
        return 4
    return 0


async def _run(
    pairs: list[tuple[EvalTask, ActionMode]],
    llm: ChatModel,
    settings: EvalSettings,
    jsonl: str,
    progress: Progress,
    peer_tasks: list[EvalTask],
    endpoint: Callable[[], Awaitable[Endpoint]],
    fresh_model: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Run each task's pairs, then its peer run, each record written as it comes; True if
    Ctrl-C (or SIGTERM) cut it short. ``fresh_model`` is called before each episode."""
    writer = RecordWriter(jsonl)

    def on_record(record: dict[str, Any]) -> None:
        writer.write(record)
        progress.update(record)

    async def both() -> None:
        # One system at a time (the two never share the endpoint's or the CPU's time), task
        # by task: a run cut short, or a machine whose load changes, still compares like
        # with like on the tasks it finished.
        for task_id in _task_order(pairs, peer_tasks):
            own = [p for p in pairs if p[0].id == task_id]
            peer = [t for t in peer_tasks if t.id == task_id]
            if fresh_model is None:
                await run_pairs(own, llm, settings, on_record)
                await run_peer_tasks(peer, settings, endpoint, on_record)
                continue
            for pair in own:
                await fresh_model()
                await run_pairs([pair], llm, settings, on_record)
            for task in peer:
                await fresh_model()
                await run_peer_tasks([task], settings, endpoint, on_record)

    loop = asyncio.get_running_loop()
    runner = asyncio.ensure_future(both())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.cancel)  # kernels are shut down on the way out
    try:
        await runner
        return False
    except asyncio.CancelledError:
        return True
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        progress.close()
        writer.close()


def _fresh_model(
    model: ResolvedModel, base_url: str | None, args: argparse.Namespace
) -> Callable[[], Awaitable[None]] | None:
    """How to give the next episode an embedded model that has seen nothing yet, or None.

    At temperature 0 the same prompt should get the same reply, but llama.cpp reuses the
    tokens the previous request shares with this one and evaluates only the rest, in
    other batches: the logits move a little, and near ties go the other way. Measured:
    a task solved alone lost in a full run after another task. A restart (about 3 s)
    makes each episode's result its own; with --jobs > 1 episodes share the server anyway.
    """
    server = model.server
    if server is None or base_url != server.base_url or args.shared_model_cache or args.jobs > 1:
        return None
    return server.stop  # the next request starts it again


def _task_order(pairs: list[tuple[EvalTask, ActionMode]], peer_tasks: list[EvalTask]) -> list[str]:
    """The ids of the tasks left to run, each once, in the suite's order."""
    ids = [task.id for task, _ in pairs] + [task.id for task in peer_tasks]
    return list(dict.fromkeys(ids))


def _report(
    args: argparse.Namespace,
    output: str,
    settings: EvalSettings,
    tasks: list[EvalTask],
    names: list[str],
    records: list[dict[str, Any]],
    complete: bool,
) -> None:
    summary = summarize(records, names, [t.domain for t in tasks])
    versions = sorted({str(r["prompt_version"]) for r in records if r.get("prompt_version")})
    about = {
        "suite": settings.suite,
        "prompt_versions": versions,
        "model": settings.model,
        "endpoint": settings.endpoint,
        "max_turns": settings.max_turns,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "sampling": settings.extra_body,
        "tasks": len(tasks),
        "complete": complete,
    }
    per_task = task_table(records, names, [t.id for t in tasks])
    with open(os.path.join(output, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary_json(summary, **about, per_task=per_task.rows), f, indent=1)
    print(
        f"{settings.suite} suite · model {settings.model} · {len(tasks)} tasks · "
        f"{settings.max_turns} turns · temperature {settings.temperature:g} · "
        + "".join(
            f"{key.replace('_', ' ')} {value} · " for key, value in settings.extra_body.items()
        )
        + f"prompt {', '.join(versions) or 'n/a'}"
    )
    print(table(summary))
    if args.peer:
        print()
        print(per_task.text)
    if not args.no_plot and records:
        png = os.path.join(output, "plot.png")
        if plot(summary, png, f"{settings.suite} · {settings.model} · {len(tasks)} tasks"):
            print(f"plot: {png}")
        else:
            print(
                "codeact-lab: no plot: pip install 'codeact-lab[eval]' (matplotlib)",
                file=sys.stderr,
            )
    print(f"episodes: {os.path.join(output, 'episodes.jsonl')}")
