"""The data-analysis tasks: files made by their setup, answers checked exactly.

Every expected answer is computed again here with pandas, from the file the task's
setup wrote, and must equal the one the task module computed with the standard library.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from codeact_lab.evaluation.checking import check_named, named_values
from codeact_lab.evaluation.tasks import builtin_suite, data, load_tools, reference_solution
from codeact_lab.evaluation.tasks.data import AmbiguousAnswer, highest, rounded

DATA_TASKS = [t for t in builtin_suite() if t.domain == "data"]


def _orders(folder):
    orders = pd.read_csv(os.path.join(folder, "orders.csv"))
    orders["value"] = orders["quantity"] * orders["unit_price"]
    return orders


def _region_mean_order(folder):
    means = _orders(folder).groupby("region")["value"].mean()
    return {"region": means.idxmax(), "mean_order_value": means.max()}, {"mean_order_value": 2}


def _cheap_bulk_orders(folder):
    o = _orders(folder)
    return {
        "count": int(((o.region == "South") & (o.quantity >= 8) & (o.unit_price < 5)).sum())
    }, {}


def _top_products(folder):
    revenue = _orders(folder).groupby("product")["value"].sum().sort_values(ascending=False)
    return {"top_products": list(revenue.index[:3]), "top_revenue": revenue.iloc[0]}, {
        "top_revenue": 2
    }


def _monthly_revenue_change(folder):
    o = _orders(folder)
    monthly = o.groupby(pd.to_datetime(o["date"]).dt.to_period("M"))["value"].sum()
    change = monthly.pct_change() * 100
    return {
        "best_month": str(monthly.idxmax()),
        "change_pct": change[pd.Period("2024-05", "M")],
    }, {"change_pct": 1}


def _big_spenders(folder):
    spent = _orders(folder).groupby("customer")["value"].sum()
    return {"customers": int((spent > 400).sum()), "top_customer": spent.idxmax()}, {}


def _sensors(folder):
    return pd.read_csv(os.path.join(folder, "sensors.csv"), parse_dates=["timestamp"])


def _missing_temperatures(folder):
    s = _sensors(folder)
    missing = s.groupby("sensor")["temperature_c"].apply(lambda c: c.isna().sum())
    return {
        "sensor": missing.idxmax(),
        "missing": int(missing.max()),
        "missing_pct": s["temperature_c"].isna().sum() / len(s) * 100,
    }, {"missing_pct": 2}


def _warmest_day(folder):
    s = _sensors(folder)
    daily = s[s.sensor == "S2"].groupby(s.timestamp.dt.date)["temperature_c"].mean()
    return {"day": daily.idxmax().isoformat(), "mean_temperature": daily.max()}, {
        "mean_temperature": 2
    }


def _temperature_humidity_correlation(folder):
    both = _sensors(folder).dropna(subset=["temperature_c", "humidity_pct"])
    r = both[["temperature_c", "humidity_pct"]].corr(method="pearson").iloc[0, 1]
    return {"correlation": r}, {"correlation": 3}


def _deliveries(folder):
    return pd.read_csv(os.path.join(folder, "deliveries.csv"))


def _delivery_outliers(folder):
    minutes = _deliveries(folder)["minutes"]
    q1, q3 = minutes.quantile(0.25), minutes.quantile(0.75)
    flagged = minutes[~minutes.between(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))]
    return {"outliers": len(flagged), "max_outlier_minutes": flagged.max()}, {
        "max_outlier_minutes": 1
    }


def _late_share(folder):
    d = _deliveries(folder)
    share = d.assign(late=d.minutes > 45).groupby("courier")["late"].mean() * 100
    return {"courier": share.idxmax(), "late_pct": share.max()}, {"late_pct": 1}


WITH_PANDAS = {
    "region_mean_order": _region_mean_order,
    "cheap_bulk_orders": _cheap_bulk_orders,
    "top_products": _top_products,
    "monthly_revenue_change": _monthly_revenue_change,
    "big_spenders": _big_spenders,
    "missing_temperatures": _missing_temperatures,
    "warmest_day": _warmest_day,
    "temperature_humidity_correlation": _temperature_humidity_correlation,
    "delivery_outliers": _delivery_outliers,
    "late_share": _late_share,
}


def _setup(task, folder) -> dict:
    """Run the task's setup as its kernel would, in ``folder``; the namespace it leaves."""
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(task.setup_code, namespace)
    finally:
        os.chdir(cwd)
    return namespace


def _items(values: dict, decimals: dict) -> list[str]:
    """Each value as ``@name[value]``, numbers with the decimals the question asks for."""

    def text(name, value):
        if isinstance(value, list):
            return ", ".join(value)
        if name in decimals and not isinstance(value, str):
            return f"{value:.{decimals[name]}f}"
        return str(value)

    return [f"@{name}[{text(name, value)}]" for name, value in values.items()]


def _answer(values: dict, decimals: dict) -> str:
    return " ".join(_items(values, decimals))


@pytest.fixture(params=DATA_TASKS, ids=lambda t: t.id)
def solved(request, tmp_path):
    """(task, the pandas answer's values, their decimals, the folder with its files)."""
    task = request.param
    _setup(task, tmp_path)
    values, decimals = WITH_PANDAS[task.id.split("/")[1]](str(tmp_path))
    return task, values, decimals, tmp_path


def test_there_are_ten_data_tasks_each_with_a_pandas_answer():
    assert len(DATA_TASKS) >= 8
    assert {t.id.split("/")[1] for t in DATA_TASKS} == set(WITH_PANDAS)
    assert sum(len(t.expected) >= 2 for t in DATA_TASKS) >= 6  # most ask for several values
    for task in DATA_TASKS:
        assert "@" in task.instruction and task.make_tools is None  # no peer: files
        for name in task.expected:
            assert f"@{name}[" in task.instruction


def test_the_expected_answer_is_the_one_pandas_computes(solved):
    task, values, decimals, _ = solved
    assert set(task.expected) == set(values)
    for name, value in values.items():
        if name in decimals:
            assert task.expected[name] == round(float(value), decimals[name]), name
            assert f"{decimals[name]} decimal place" in task.instruction
        else:
            assert task.expected[name] == value, name


def test_the_checker_takes_the_right_answer_in_any_order_and_spacing(solved):
    task, values, decimals, _ = solved
    right = _answer(values, decimals)
    assert task.check(right), right
    assert task.check(f"  {right}.  ")
    items = _items(values, decimals)
    assert task.check(", ".join(reversed(items)))
    assert task.check(";\n".join(items))


def _near_misses(values: dict, decimals: dict) -> list[dict]:
    misses = []
    for name, value in values.items():
        wrong: list = []
        if isinstance(value, list):
            wrong = [list(reversed(value)), value[:-1], [*value[:-1], value[0]]]
        elif name in decimals:
            step = 10 ** -decimals[name]
            exact = round(float(value), decimals[name])
            wrong = [exact + step, exact - step]
            if abs(float(value) - exact) > 1e-9:
                wrong.append(f"{float(value):.{decimals[name] + 2}f}")  # not rounded as asked
        elif isinstance(value, (int,)) or hasattr(value, "__int__"):
            wrong = [int(value) + 1, int(value) - 1]
        else:
            wrong = [f"{value}x", str(value).lower() if str(value).lower() != value else "?"]
        misses += [{**values, name: w} for w in wrong]
    return misses


def test_the_checker_rejects_near_misses(solved):
    task, values, decimals, _ = solved
    for miss in _near_misses(values, decimals):
        answer = _answer(miss, decimals)
        assert not task.check(answer), answer


def test_the_checker_rejects_a_wrong_format(solved):
    task, values, decimals, _ = solved
    items = _items(values, decimals)
    right = " ".join(items)
    bare = [item.split("[", 1)[1][:-1] for item in items]
    first = next(iter(values))
    wrong_forms = [
        "",
        ", ".join(bare),  # the values without their names
        right.replace(f"@{first}[", f"@{first}_value["),  # a wrong name
        right.replace(f"@{first}[", f"{first}["),  # no @
        right.replace("[", "(").replace("]", ")"),
        f"{right} {items[0]}",  # a name twice
        f"The answer is {right}",  # prose is not the answer
        f"{right} @extra[1]",
    ]
    if len(items) > 1:
        wrong_forms.append(" ".join(items[1:]))  # a value missing
    for answer in wrong_forms:
        assert not task.check(answer), answer


def test_each_reference_solution_prints_the_right_answer(solved):
    task, _, _, folder = solved
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out):
            exec(reference_solution(task.id), {})
    finally:
        os.chdir(cwd)
    assert task.check(out.getvalue()), out.getvalue()


def _digest_of_setup(task, folder, hash_seed: str) -> str:
    script = (
        "import hashlib, os, sys\n"
        f"exec({task.setup_code!r}, {{}})\n"
        "for name in sorted(os.listdir('.')):\n"
        "    print(name, hashlib.sha256(open(name, 'rb').read()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_setup_is_deterministic_and_leaves_only_the_tools(tmp_path):
    seen: dict[str, str] = {}
    for task in DATA_TASKS:
        runs = []
        for seed in ("1", "2"):
            folder = tmp_path / f"{task.id.replace('/', '-')}-{seed}"
            folder.mkdir()
            runs.append(_digest_of_setup(task, folder, seed))
        assert runs[0] == runs[1] and runs[0].strip(), task.id
        for line in runs[0].splitlines():
            name, digest = line.split()
            assert seen.setdefault(name, digest) == digest  # the same file for every task
        namespace = _setup(task, tmp_path)
        assert set(namespace) - {"__builtins__"} == task.tool_names
    assert set(seen) == {"orders.csv", "sensors.csv", "deliveries.csv"}
    assert hashlib.sha256((tmp_path / "orders.csv").read_bytes()).hexdigest() == seen["orders.csv"]


def test_the_files_have_what_the_questions_need(tmp_path):
    for task in DATA_TASKS:
        _setup(task, tmp_path)
    sensors = _sensors(str(tmp_path))
    assert len(sensors) == 14 * 24 * 4 and sensors["temperature_c"].isna().sum() > 0
    assert sensors["humidity_pct"].isna().sum() > 0
    orders = _orders(str(tmp_path))
    assert len(orders) == 240 and orders["date"].str[:7].nunique() == 6
    assert len(_deliveries(str(tmp_path))) == 300


def test_the_tools_look_at_the_files(tmp_path, monkeypatch):
    tools = load_tools("data")
    assert set(tools) == {"list_files", "describe_csv"}
    monkeypatch.chdir(tmp_path)
    assert data.list_files() == []
    _setup(DATA_TASKS[0], tmp_path)
    (tmp_path / "notes.txt").write_text("not data")
    assert data.list_files() == ["orders.csv"]
    (tmp_path / "gaps.csv").write_text("a,b\n1,\n,\n3,4\n")
    described = data.describe_csv("gaps.csv", rows=1)
    assert described.splitlines() == [
        "gaps.csv: 3 rows; columns: a (2 filled), b (1 filled)",
        "a,b",
        "1,",
    ]
    assert data.describe_csv("orders.csv").count("\n") == 4
    (tmp_path / "empty.csv").write_text("")
    assert data.describe_csv("empty.csv") == "empty.csv: empty"


def test_an_ambiguous_answer_is_refused():
    with pytest.raises(AmbiguousAnswer):
        rounded(2.125, 2)  # on the boundary: pandas and Python could round it apart
    assert rounded(2.1249, 2) == 2.12 and rounded(-0.5864, 3) == -0.586
    with pytest.raises(AmbiguousAnswer):
        highest({"a": 1.0, "b": 1.0})
    assert highest({"a": 1.0, "b": 2.0}) == "b"


@pytest.mark.parametrize(
    ("answer", "values"),
    [
        ("@a[1] @b[x y]", {"a": "1", "b": "x y"}),
        ("@a[1],@b[2];", {"a": "1", "b": "2"}),
        ("`@a[ 1 ]`", {"a": "1"}),
        ("@a[1] and @b[2]", None),
        ("@a[1] @a[1]", None),
        ("@a[[1]]", None),
        ("a[1]", None),
        ("", {}),
    ],
)
def test_named_values(answer, values):
    assert named_values(answer) == values


def test_check_named_compares_each_value_exactly():
    expected = {"n": 3, "x": 2.6, "top": ["a b", "c"], "who": "S3"}
    assert check_named(expected, "@n[3] @x[2.60] @top[a b, c] @who[S3]")
    assert check_named(expected, "@who['S3'] @top['a b', 'c'] @x[2.6] @n[3.0]")
    assert not check_named(expected, "@n[3] @x[2.61] @top[a b, c] @who[S3]")
    assert not check_named(expected, "@n[3] @x[2.6] @top[c, a b] @who[S3]")
    assert not check_named(expected, "@n[3] @x[2.6] @top[a b, c] @who[s3]")
    assert not check_named(expected, "@n[3] @x[2.6] @top[a b, c]")
