"""``codeact-lab export``: episodes from the server's store, as notebooks or training data.

codeact-lab export 3f2a9c1e -o analysis.ipynb          # one episode, whole
codeact-lab export 3f2a9c1e --code-only -o clean.ipynb # just the code that ran
codeact-lab export --format chatml --solved -o data.jsonl
codeact-lab export --format chatml --model qwen --since 2026-11-01 -o data.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

import nbformat

from .agent import Episode
from .chatml import write_chatml
from .config import CodeAct, load_config_files
from .export import episode_to_notebook
from .server.store import EpisodeStore, default_db_path


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "export",
        help="write stored episodes as a notebook or as chat training data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("episodes", nargs="*", help="episode ids (a unique prefix is enough)")
    e.add_argument("--format", choices=("ipynb", "chatml"), default="ipynb")
    e.add_argument("--output", "-o", help="file to write")
    e.add_argument("--code-only", action="store_true", help="ipynb: only the actions that ran")
    e.add_argument("--solved", action="store_true", help="chatml: only solved episodes")
    e.add_argument("--model", help="chatml: only episodes of this model")
    e.add_argument("--since", type=_date, help="chatml: episodes created on or after (YYYY-MM-DD)")
    e.add_argument("--until", type=_date, help="chatml: episodes created before (YYYY-MM-DD)")
    e.add_argument("--no-images", action="store_true", help="chatml: drop image data")
    e.add_argument("--db", help="the episode store (default: the Jupyter server's)")


def _date(text: str) -> float:
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-21") from None
    return day.timestamp()


def db_path(args: argparse.Namespace) -> str:
    """The store a command reads: --db, else the server's configured one, else the default."""
    if args.db:
        return str(args.db)
    configured = load_config_files().get("CodeActExtension", {}).get("db_path")
    return str(configured) if configured else default_db_path()


def _load(store: EpisodeStore, episode_id: str) -> Episode:
    episode = store.load(episode_id)
    if episode is None:
        raise KeyError(f"episode {episode_id} has no stored events")
    return episode


def export_command(args: argparse.Namespace) -> int:
    path = db_path(args)
    if not os.path.exists(path):
        print(f"codeact-lab: no episode store at {path}", file=sys.stderr)
        return 2
    store = EpisodeStore(path)
    secrets = [CodeAct(config=load_config_files()).resolved_api_key()]
    try:
        ids = [store.resolve_id(prefix) for prefix in args.episodes]
        if args.format == "ipynb":
            if len(ids) != 1:
                raise KeyError("give exactly one episode id to export as a notebook")
            episode = _load(store, ids[0])
            output = args.output or f"codeact-{episode.id[:8]}.ipynb"
            nb = episode_to_notebook(episode, code_only=args.code_only, secrets=secrets)
            nbformat.write(nb, output)
            print(f"codeact-lab: wrote episode {episode.id[:8]} to {output}", file=sys.stderr)
            return 0
        if not ids:
            ids = store.find(
                state="solved" if args.solved else None,
                model=args.model,
                since=args.since,
                until=args.until,
            )
        output = args.output or "codeact-episodes.jsonl"
        episodes = (_load(store, episode_id) for episode_id in ids)
        count = write_chatml(episodes, output, images=not args.no_images, secrets=secrets)
        print(f"codeact-lab: wrote {count} episode(s) to {output}", file=sys.stderr)
        return 0
    except KeyError as err:
        print(f"codeact-lab: {err.args[0]}", file=sys.stderr)
        return 2
    finally:
        store.close()
