"""What a run shows: success rate, average turns, tokens and wall time per task, by
domain and overall, for each mode (and the peer agent, when one ran): as a table, a JSON
summary and a PNG plot; with a peer, also a table of every task, side by side.

A task that is not solved counts as the turn limit in the average turns, as in the paper.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

OVERALL = "overall"


@dataclass
class Stats:
    tasks: int = 0
    solved: int = 0
    turns: float = 0.0  # average, a failure counted as the turn limit
    tokens: float | None = 0.0  # average per task; None: the endpoint reported no usage
    wall_s: float = 0.0  # average per task
    errors: int = 0
    stuck: int = 0  # episodes that ended because the model repeated itself

    @property
    def success(self) -> float:
        return self.solved / self.tasks if self.tasks else 0.0


def _stats(records: list[dict[str, Any]]) -> Stats:
    n = len(records)
    if not n:
        return Stats()
    counted = [r["turns"] if r["solved"] else r.get("max_turns", 10) for r in records]
    metered = [r for r in records if r.get("usage_reported", True)]
    return Stats(
        tasks=n,
        solved=sum(bool(r["solved"]) for r in records),
        turns=sum(counted) / n,
        tokens=(sum(r["total_tokens"] for r in metered) / len(metered)) if metered else None,
        wall_s=sum(r.get("wall_s", 0.0) for r in records) / n,
        errors=sum(bool(r.get("error")) for r in records),
        stuck=sum(bool(r.get("stuck")) for r in records),
    )


def summarize(
    records: Iterable[dict[str, Any]],
    modes: Sequence[str],
    domains: Sequence[str] = (),
) -> dict[str, dict[str, Stats]]:
    """{mode: {domain or "overall": Stats}}: ``domains`` first, then any other domain in the
    order it first appears."""
    records = list(records)
    present = {r["domain"] for r in records}
    domains = [
        d for d in dict.fromkeys([*domains, *(r["domain"] for r in records)]) if d in present
    ]
    summary: dict[str, dict[str, Stats]] = {}
    for mode in modes:
        mine = [r for r in records if r["mode"] == mode]
        summary[mode] = {d: _stats([r for r in mine if r["domain"] == d]) for d in domains}
        summary[mode][OVERALL] = _stats(mine)
    return summary


def summary_json(summary: dict[str, dict[str, Stats]], **about: Any) -> dict[str, Any]:
    return {
        **about,
        "modes": {
            mode: {
                group: {**asdict(stats), "success": round(stats.success, 4)}
                for group, stats in groups.items()
            }
            for mode, groups in summary.items()
        },
    }


def table(summary: dict[str, dict[str, Stats]]) -> str:
    header = (
        "domain",
        "mode",
        "tasks",
        "solved",
        "success",
        "avg turns",
        "stuck",
        "tokens/task",
        "s/task",
    )
    rows: list[tuple[str, ...]] = []
    modes = list(summary)
    groups = list(next(iter(summary.values()))) if summary else []
    for group in groups:
        for index, mode in enumerate(modes):
            s = summary[mode][group]
            if not s.tasks:
                continue
            errors = f"  ({s.errors} error{'s' * (s.errors != 1)})" if s.errors else ""
            rows.append(
                (
                    group if index == 0 else "",
                    mode,
                    str(s.tasks),
                    str(s.solved),
                    f"{100 * s.success:.1f}%",
                    f"{s.turns:.1f}",
                    str(s.stuck),
                    "n/a" if s.tokens is None else f"{s.tokens:,.0f}",
                    f"{s.wall_s:.1f}{errors}",
                )
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    left = {0, 1}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left or i == len(cells) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    for row in rows:
        if row[0] == OVERALL:
            out.append(line(["-" * w for w in widths]))
        out.append(line(row))
    out.extend(comparisons(summary))
    return "\n".join(out)


def comparisons(summary: dict[str, dict[str, Stats]]) -> list[str]:
    """Code against each other mode, overall: the paper's headline comparison."""
    if "code" not in summary:
        return []
    code = summary["code"][OVERALL]
    lines = []
    for mode, groups in summary.items():
        other = groups[OVERALL]
        if mode == "code" or not other.tasks or not code.tasks:
            continue
        lines.append(
            f"code vs {mode}: {100 * (code.success - other.success):+.1f} points of success, "
            f"{code.turns - other.turns:+.1f} turns on average, "
            f"{code.wall_s - other.wall_s:+.1f} s per task"
        )
    return ["", *lines] if lines else []


def plot(summary: dict[str, dict[str, Stats]], path: str, title: str) -> bool:
    """Success rate and average turns per mode, by domain and overall. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    modes = list(summary)
    groups = list(next(iter(summary.values())))
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(groups) + 4), 4.8))
    width = 0.8 / max(1, len(modes))
    for ax, metric, label in (
        (axes[0], "success", "success rate (%)"),
        (axes[1], "turns", "average turns (failure = limit)"),
    ):
        for i, mode in enumerate(modes):
            values = [
                100 * summary[mode][g].success if metric == "success" else summary[mode][g].turns
                for g in groups
            ]
            xs = [x + (i - (len(modes) - 1) / 2) * width for x in range(len(groups))]
            bars = ax.bar(xs, values, width, label=mode)
            ax.bar_label(bars, fmt="%.0f" if metric == "success" else "%.1f", fontsize=7)
        ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
        ax.set_ylabel(label)
        if metric == "success":
            ax.set_ylim(0, 110)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(modes), title="action mode or agent")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12, 1, 1))  # room for the legend below the axes
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


@dataclass
class TaskTable:
    rows: dict[str, dict[str, dict[str, Any]]]  # task id -> mode -> its figures
    text: str


def _cell(record: dict[str, Any] | None) -> str:
    if record is None:
        return "-"
    state = record.get("state") or "failed"
    # An episode that ended on an answer the checker refused is not "solved" here.
    outcome = "solved" if record["solved"] else ("wrong" if state == "solved" else state)
    tokens = f"{record['total_tokens']:,} tok" if record.get("usage_reported", True) else "n/a tok"
    return f"{outcome} {record['turns']}t {tokens} {record.get('wall_s', 0.0):.1f}s"


def task_table(
    records: Iterable[dict[str, Any]], modes: Sequence[str], task_ids: Sequence[str]
) -> TaskTable:
    """Every task, one column per mode: outcome, turns, tokens and seconds."""
    by = {(r["task"], r["mode"]): r for r in records}
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    lines = [("task", *modes)]
    for task in task_ids:
        cells = [by.get((task, mode)) for mode in modes]
        if not any(cells):
            continue
        rows[task] = {
            mode: {
                key: record.get(key)
                for key in ("solved", "state", "turns", "total_tokens", "wall_s", "answers")
            }
            for mode, record in zip(modes, cells, strict=True)
            if record is not None
        }
        lines.append((task, *(_cell(c) for c in cells)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
    return TaskTable(rows, text)
