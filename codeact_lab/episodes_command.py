"""``codeact-lab episodes``: what the server's store holds, and pruning it.

codeact-lab episodes list                       # the 20 newest, one line each
codeact-lab episodes list --limit 100 --notebook analysis.ipynb
codeact-lab episodes prune --older-than 90      # days; finished episodes only
codeact-lab episodes prune --max-size 500       # MB: the oldest finished go first
codeact-lab episodes prune --older-than 30 --dry-run
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from .export_command import db_path
from .server.store import EpisodeStore


def add_episodes_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "episodes",
        help="list the stored episodes, or prune old ones",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("--db", help="the episode store (default: the Jupyter server's)")
    actions = e.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the newest episodes, one line each")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--notebook", help="only this notebook's (its path in the server)")
    prune = actions.add_parser("prune", help="delete old finished episodes")
    prune.add_argument("--older-than", type=float, metavar="DAYS", help="age limit in days")
    prune.add_argument("--max-size", type=float, metavar="MB", help="size limit in MB")
    prune.add_argument("--dry-run", action="store_true", help="say what would go, delete nothing")


def episodes_command(args: argparse.Namespace) -> int:
    path = db_path(args)
    if not os.path.exists(path):
        print(f"codeact-lab: no episode store at {path}", file=sys.stderr)
        return 2
    store = EpisodeStore(path)
    try:
        if args.action == "list":
            return _list(store, args)
        return _prune(store, args)
    finally:
        store.close()


def _list(store: EpisodeStore, args: argparse.Namespace) -> int:
    rows = store.summaries(args.notebook, max(1, args.limit))
    for row in rows:
        when = dt.datetime.fromtimestamp(row["created"]).strftime("%Y-%m-%d %H:%M")
        task = " ".join(row["task"].split())
        task = task if len(task) <= 60 else task[:59] + "…"
        state = row["state"] or "running"
        print(
            f"{row['id'][:8]}  {when}  {state:<11} {row['turns']:>3} turns  "
            f"{row['notebook_path'] or '-'}  {task}"
        )
    size = store.size_bytes() / 1e6
    print(f"codeact-lab: {len(rows)} shown; the store holds {size:.1f} MB", file=sys.stderr)
    return 0


def _prune(store: EpisodeStore, args: argparse.Namespace) -> int:
    if args.older_than is None and args.max_size is None:
        print("codeact-lab: give --older-than DAYS and/or --max-size MB", file=sys.stderr)
        return 2
    before = store.size_bytes()
    deleted = store.prune(
        older_than_days=args.older_than,
        max_bytes=int(args.max_size * 1024 * 1024) if args.max_size is not None else None,
        dry_run=args.dry_run,
    )
    if args.dry_run:
        for episode_id in deleted:
            print(episode_id)
        print(f"codeact-lab: would delete {len(deleted)} episode(s)", file=sys.stderr)
        return 0
    if deleted:
        store.vacuum()
    after = store.size_bytes()
    print(
        f"codeact-lab: deleted {len(deleted)} episode(s); "
        f"{before / 1e6:.1f} MB -> {after / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0
