"""``codeact-lab``: the command line.

``codeact-lab run "TASK"`` starts its own kernel, runs one episode with
auto-approval, prints the transcript as it streams and writes the episode as a
notebook, whatever the outcome. Exit status: 0 solved; otherwise non-zero with a
one-line reason on stderr (see EXIT_CODES).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence

import nbformat
from jupyter_client.manager import AsyncKernelManager

from . import __version__
from .agent import (
    Episode,
    EventType,
    FinalState,
    KernelExecutor,
    StopSignal,
    run,
)
from .agent.redact import redact, usable_secrets
from .agent.restore import restore_kernel_state
from .config import CodeAct, load_config_files
from .episodes_command import add_episodes_parser, episodes_command
from .evaluation.command import add_eval_parser, eval_command
from .export import episode_from_notebook, episode_to_notebook
from .export_command import add_export_parser, export_command
from .local_model import resolve_model
from .settings_table import ACTION_TIMEOUT, BASE_URL, MAX_TURNS, MODEL, TEMPERATURE
from .transcript import TranscriptPrinter

EXIT_CODES = {
    FinalState.SOLVED: 0,
    FinalState.FAILED: 1,
    FinalState.MAX_TURNS: 3,
    FinalState.STOPPED: 4,
    FinalState.BUDGET: 5,
    FinalState.REPLIED: 6,
    FinalState.INTERRUPTED: 7,
    FinalState.STUCK: 8,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeact-lab", description="CodeAct agents: code actions run in a Jupyter kernel."
    )
    parser.add_argument("--version", action="version", version=f"codeact-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one episode in a fresh kernel and write it as a notebook")
    r.add_argument("task", help="what the agent should do")
    MODEL.add_to(r)
    BASE_URL.add_to(r)
    r.add_argument(
        "--api-key-env", help="environment variable holding the API key (default OPENAI_API_KEY)"
    )
    MAX_TURNS.add_to(r)
    ACTION_TIMEOUT.add_to(r)
    r.add_argument("--budget", type=float, help="wall-clock seconds for the whole episode")
    TEMPERATURE.add_to(r)
    r.add_argument("--max-tokens", type=int, help="most tokens per model reply")
    r.add_argument("--kernel", default="python3", help="kernel name (default python3)")
    r.add_argument("--output", "-o", help="notebook to write (default codeact-<id>.ipynb)")
    r.add_argument("--events", help="also write every event as JSON Lines to this file")
    r.add_argument("--quiet", "-q", action="store_true", help="print only the final line")
    r.add_argument(
        "--resume",
        metavar="EPISODE.ipynb",
        help="continue the episode of an exported notebook: its code is re-run to restore the "
        "kernel's state, TASK is the follow-up, and the notebook is written back (or to -o)",
    )
    add_export_parser(sub)
    add_eval_parser(sub)
    add_episodes_parser(sub)
    return parser


def _settings(args: argparse.Namespace) -> CodeAct:
    settings = CodeAct(config=load_config_files())
    if args.model:
        settings.model = args.model
    if args.base_url:
        settings.base_url = args.base_url
    if args.api_key_env:
        settings.api_key_env = args.api_key_env
    for name in ("max_turns", "temperature", "max_tokens", "budget"):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    if args.timeout is not None:
        settings.action_timeout = args.timeout
    return settings


async def run_episode(args: argparse.Namespace) -> int:
    settings = _settings(args)
    model = resolve_model(settings)  # the endpoint, the embedded local model, or none
    if not model.available or (model.local and not args.quiet):
        print(f"codeact-lab: {model.note}", file=sys.stderr)
    if not model.available:
        return 1
    llm_config = model.llm_config()
    policy = settings.policy()
    fresh = settings.episode_settings(llm_config, policy, kernel_name=args.kernel)
    message: str | None = None
    if args.resume:
        try:
            episode = episode_from_notebook(nbformat.read(args.resume, as_version=4))
        except (OSError, ValueError) as err:
            print(f"codeact-lab: cannot resume {args.resume}: {err}", file=sys.stderr)
            return 2
        episode.settings, message = fresh, args.task  # the follow-up runs with today's model
        output = args.output or args.resume
    else:
        episode = Episode(task=args.task, settings=fresh)
        output = args.output or f"codeact-{episode.id[:8]}.ipynb"
    secrets = [llm_config.resolved_api_key()]
    keys = usable_secrets(secrets)
    printer = TranscriptPrinter(episode, sys.stdout, secrets=keys)
    events_file = open(args.events, "w", encoding="utf-8") if args.events else None  # noqa: SIM115
    stop = StopSignal()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set, "interrupted from the terminal (Ctrl-C)")
    loop.add_signal_handler(signal.SIGTERM, stop.set, "terminated")

    # IPC sockets in a private folder: the kernel is reachable by no one else.
    sockets = tempfile.TemporaryDirectory(prefix="codeact-kernel-")
    km = AsyncKernelManager(
        kernel_name=args.kernel, transport="ipc", ip=os.path.join(sockets.name, "kernel")
    )
    llm = model.client(llm_config)
    executor: KernelExecutor | None = None
    try:
        # The agent's code runs in this kernel: it gets no API key to read or leak.
        hidden = {settings.api_key_env, "OPENAI_API_KEY"}
        await km.start_kernel(env={k: v for k, v in os.environ.items() if k not in hidden})
        executor = KernelExecutor.for_manager(km)
        await executor.ensure_ready()
        if args.resume:
            restored = await restore_kernel_state(episode, executor, policy.action_timeout)
            if not args.quiet:
                print(f"──────── kernel state restored: re-ran {restored} action(s)", flush=True)
        async for ev in run(
            episode, llm, executor, policy, message=message, stop=stop, prompt=settings.prompt()
        ):
            if not args.quiet:
                printer(ev)
            if events_file:
                events_file.write(json.dumps(redact(ev.to_dict(), keys)) + "\n")
    except Exception as err:  # kernel could not start, ...: still write what there is
        reason = f"{type(err).__name__}: {err}"
        episode.event(EventType.FINAL, state=FinalState.FAILED.value, reason=reason)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        if events_file:
            events_file.close()
        if executor is not None:
            executor.close()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        await llm.close()
        await model.aclose()
        sockets.cleanup()
        nb = episode_to_notebook(episode, kernel_name=args.kernel, secrets=secrets)
        nbformat.write(nb, output)

    state = episode.state or FinalState.FAILED
    code = EXIT_CODES[state]
    if code == 0:
        print(f"codeact-lab: solved in {episode.turns} turns; notebook: {output}", file=sys.stderr)
    else:
        print(f"codeact-lab: {state.value}: {episode.reason} (notebook: {output})", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return asyncio.run(run_episode(args))
    if args.command == "export":
        return export_command(args)
    if args.command == "eval":
        return eval_command(args)
    if args.command == "episodes":
        return episodes_command(args)
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
