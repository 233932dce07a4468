"""Data analysis: a CSV in the task's folder, a question a notebook user asks, named answers.

Each task's setup writes its file (``datasets.py``) into the task kernel's own folder.
The question states the answer's form, ``@name[value]`` for each value asked for, and
its rounding; the answer is checked exactly (``checking.check_named``).

The expected answers are computed here from the file's text with the standard library
(``csv``, ``statistics``); the unit tests compute them again with pandas, and the
reference solutions are pandas, as a notebook user would write them.

The tools only look at the files: the analysis itself takes code, which is what these
tasks measure in the json and text modes.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import os
import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .base import BuiltinTask, stateless_tools
from .datasets import FILES


def list_files() -> list[str]:
    """The data files in the current folder."""
    return sorted(name for name in os.listdir(".") if name.endswith(".csv"))


def describe_csv(path: str, rows: int = 3) -> str:
    """A CSV file's size, its columns with how many cells of each are filled, and its first rows."""
    with open(path, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    if not table:
        return f"{path}: empty"
    header, body = table[0], table[1:]
    filled = [sum(1 for row in body if i < len(row) and row[i] != "") for i in range(len(header))]
    columns = ", ".join(f"{name} ({n} filled)" for name, n in zip(header, filled, strict=True))
    first = "\n".join(",".join(row) for row in table[: 1 + max(0, int(rows))])
    return f"{path}: {len(body)} rows; columns: {columns}\n{first}"


make_tools = stateless_tools(list_files, describe_csv)


# ---- the expected answers, from the files' text ----
class AmbiguousAnswer(ValueError):
    """A value on a rounding boundary, or a tie for "the highest": no exact answer."""


def rounded(value: float, decimals: int) -> float:
    scaled = abs(value) * 10**decimals
    if abs(scaled - int(scaled) - 0.5) < 1e-6:
        raise AmbiguousAnswer(f"{value!r} is on a rounding boundary")
    return round(value, decimals)


def highest(values: dict[str, float]) -> str:
    ranked = sorted(values.items(), key=lambda item: item[1], reverse=True)
    if len(ranked) > 1 and abs(ranked[0][1] - ranked[1][1]) < 1e-9:
        raise AmbiguousAnswer(f"a tie for the highest: {ranked[:2]}")
    return ranked[0][0]


@functools.cache
def _text(name: str) -> str:
    return FILES[name]()


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(name))))


def _order_value(row: dict[str, str]) -> float:
    return int(row["quantity"]) * float(row["unit_price"])


def _totals(key: Callable[[dict[str, str]], str], name: str = "orders.csv") -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for row in rows(name):
        totals[key(row)] += _order_value(row)
    return dict(totals)


def region_mean_order_value() -> dict[str, Any]:
    values: dict[str, list[float]] = defaultdict(list)
    for row in rows("orders.csv"):
        values[row["region"]].append(_order_value(row))
    means = {region: statistics.fmean(v) for region, v in values.items()}
    best = highest(means)
    return {"region": best, "mean_order_value": rounded(means[best], 2)}


def cheap_bulk_orders() -> dict[str, Any]:
    count = sum(
        row["region"] == "South" and int(row["quantity"]) >= 8 and float(row["unit_price"]) < 5
        for row in rows("orders.csv")
    )
    return {"count": count}


def top_products() -> dict[str, Any]:
    revenue = _totals(lambda row: row["product"])
    ranked = sorted(revenue, key=revenue.__getitem__, reverse=True)
    for better, worse in itertools.pairwise(ranked[:4]):  # no tie in the top 3
        highest({better: revenue[better], worse: revenue[worse]})
    return {"top_products": ranked[:3], "top_revenue": rounded(revenue[ranked[0]], 2)}


def monthly_revenue_change() -> dict[str, Any]:
    months = _totals(lambda row: row["date"][:7])
    change = (months["2024-05"] - months["2024-04"]) / months["2024-04"] * 100
    return {"best_month": highest(months), "change_pct": rounded(change, 1)}


def big_spenders() -> dict[str, Any]:
    spent = _totals(lambda row: row["customer"])
    return {
        "customers": sum(total > 400 for total in spent.values()),
        "top_customer": highest(spent),
    }


def missing_temperatures() -> dict[str, Any]:
    readings = rows("sensors.csv")
    missing = {sensor: 0 for sensor in sorted({row["sensor"] for row in readings})}
    for row in readings:
        missing[row["sensor"]] += row["temperature_c"] == ""
    worst = highest({sensor: float(n) for sensor, n in missing.items()})
    share = sum(missing.values()) / len(readings) * 100
    return {"sensor": worst, "missing": missing[worst], "missing_pct": rounded(share, 2)}


def warmest_day() -> dict[str, Any]:
    days: dict[str, list[float]] = defaultdict(list)
    for row in rows("sensors.csv"):
        if row["sensor"] == "S2" and row["temperature_c"] != "":
            day = dt.datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M").date().isoformat()
            days[day].append(float(row["temperature_c"]))
    means = {day: statistics.fmean(v) for day, v in days.items()}
    best = highest(means)
    return {"day": best, "mean_temperature": rounded(means[best], 2)}


def temperature_humidity_correlation() -> dict[str, Any]:
    pairs = [
        (float(row["temperature_c"]), float(row["humidity_pct"]))
        for row in rows("sensors.csv")
        if row["temperature_c"] != "" and row["humidity_pct"] != ""
    ]
    r = statistics.correlation([t for t, _ in pairs], [h for _, h in pairs])
    return {"correlation": rounded(r, 3)}


def delivery_outliers() -> dict[str, Any]:
    minutes = [float(row["minutes"]) for row in rows("deliveries.csv")]
    q1, _, q3 = statistics.quantiles(minutes, n=4, method="inclusive")  # = linear interpolation
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    flagged = [m for m in minutes if m < low or m > high]
    return {"outliers": len(flagged), "max_outlier_minutes": rounded(max(flagged), 1)}


def late_share() -> dict[str, Any]:
    late: dict[str, list[bool]] = defaultdict(list)
    for row in rows("deliveries.csv"):
        late[row["courier"]].append(float(row["minutes"]) > 45)
    shares = {courier: sum(v) / len(v) * 100 for courier, v in late.items()}
    worst = highest(shares)
    return {"courier": worst, "late_pct": rounded(shares[worst], 1)}


def _task(
    name: str, files: str, instruction: str, answer: Callable[[], dict[str, Any]], reference: str
) -> BuiltinTask:
    return BuiltinTask(name, instruction, answer(), reference, files=(files,))


_READ_ORDERS = (
    "import pandas as pd\norders = pd.read_csv('orders.csv')\n"
    "orders['value'] = orders['quantity'] * orders['unit_price']\n"
)
_READ_SENSORS = "import pandas as pd\nsensors = pd.read_csv('sensors.csv')\n"
_READ_DELIVERIES = "import pandas as pd\ndeliveries = pd.read_csv('deliveries.csv')\n"

TASKS = [
    _task(
        "region_mean_order",
        "orders.csv",
        "orders.csv has one order per row; an order's value is its quantity times its "
        "unit_price. Which region has the highest mean order value, and what is that mean, "
        "rounded to 2 decimal places? Answer as @region[name] @mean_order_value[value].",
        region_mean_order_value,
        _READ_ORDERS + "means = orders.groupby('region')['value'].mean()\n"
        "print(f'@region[{means.idxmax()}] @mean_order_value[{means.max():.2f}]')",
    ),
    _task(
        "cheap_bulk_orders",
        "orders.csv",
        "In orders.csv, how many orders from the South region have a quantity of at least 8 "
        "and a unit_price below 5.00? Answer as @count[number].",
        cheap_bulk_orders,
        _READ_ORDERS + "south = orders[(orders.region == 'South') & (orders.quantity >= 8)]\n"
        "print(f'@count[{(south.unit_price < 5).sum()}]')",
    ),
    _task(
        "top_products",
        "orders.csv",
        "Which three products brought in the most revenue in orders.csv (revenue: quantity "
        "times unit_price, summed over the orders), from the highest down, and what is the "
        "first one's revenue, rounded to 2 decimal places? Answer as "
        "@top_products[first, second, third] @top_revenue[value].",
        top_products,
        _READ_ORDERS + "revenue = orders.groupby('product')['value'].sum().nlargest(3)\n"
        "print(f\"@top_products[{', '.join(revenue.index)}] @top_revenue[{revenue.iloc[0]:.2f}]\")",
    ),
    _task(
        "monthly_revenue_change",
        "orders.csv",
        "Using the order dates in orders.csv, total the revenue (quantity times unit_price) "
        "of each calendar month. Which month had the highest revenue, and by what percentage "
        "did monthly revenue change from April 2024 to May 2024 (negative for a fall), "
        "rounded to 1 decimal place? Answer as @best_month[YYYY-MM] @change_pct[value].",
        monthly_revenue_change,
        _READ_ORDERS + "orders['date'] = pd.to_datetime(orders['date'])\n"
        "monthly = orders.set_index('date')['value'].resample('MS').sum()\n"
        "change = (monthly['2024-05'].iloc[0] / monthly['2024-04'].iloc[0] - 1) * 100\n"
        'print(f"@best_month[{monthly.idxmax():%Y-%m}] @change_pct[{change:.1f}]")',
    ),
    _task(
        "big_spenders",
        "orders.csv",
        "In orders.csv, how many customers spent more than 400 in total (quantity times "
        "unit_price over all their orders), and which customer spent the most? Answer as "
        "@customers[number] @top_customer[customer id].",
        big_spenders,
        _READ_ORDERS + "spent = orders.groupby('customer')['value'].sum()\n"
        "print(f'@customers[{(spent > 400).sum()}] @top_customer[{spent.idxmax()}]')",
    ),
    _task(
        "missing_temperatures",
        "sensors.csv",
        "Some temperature_c cells in sensors.csv are empty. Which sensor has the most missing "
        "temperature readings, how many are missing for it, and what percentage of all rows "
        "have no temperature, rounded to 2 decimal places? Answer as @sensor[name] "
        "@missing[number] @missing_pct[value].",
        missing_temperatures,
        _READ_SENSORS
        + "missing = sensors['temperature_c'].isna().groupby(sensors['sensor']).sum()\n"
        "share = sensors['temperature_c'].isna().mean() * 100\n"
        "print(f'@sensor[{missing.idxmax()}] @missing[{missing.max()}] @missing_pct[{share:.2f}]')",
    ),
    _task(
        "warmest_day",
        "sensors.csv",
        "sensors.csv has hourly readings. Parse its timestamps and compute sensor S2's mean "
        "temperature_c for each calendar day, leaving out missing readings. Which day had "
        "the highest daily mean, and what was that mean, rounded to 2 decimal places? "
        "Answer as @day[YYYY-MM-DD] @mean_temperature[value].",
        warmest_day,
        _READ_SENSORS + "s2 = sensors[sensors.sensor == 'S2'].copy()\n"
        "s2['timestamp'] = pd.to_datetime(s2['timestamp'])\n"
        "daily = s2.set_index('timestamp')['temperature_c'].resample('D').mean()\n"
        "print(f'@day[{daily.idxmax():%Y-%m-%d}] @mean_temperature[{daily.max():.2f}]')",
    ),
    _task(
        "temperature_humidity_correlation",
        "sensors.csv",
        "What is the Pearson correlation between temperature_c and humidity_pct in "
        "sensors.csv, over the rows where both are filled in, rounded to 3 decimal places? "
        "Answer as @correlation[value].",
        temperature_humidity_correlation,
        _READ_SENSORS + "r = sensors['temperature_c'].corr(sensors['humidity_pct'])\n"
        "print(f'@correlation[{r:.3f}]')",
    ),
    _task(
        "delivery_outliers",
        "deliveries.csv",
        "Flag the deliveries in deliveries.csv whose minutes lie outside "
        "[Q1 - 1.5 * IQR, Q3 + 1.5 * IQR], where Q1 and Q3 are the 25th and 75th percentiles "
        "of minutes with linear interpolation (pandas' default) and IQR = Q3 - Q1. How many "
        "deliveries are flagged, and what is the longest flagged time in minutes, with the "
        "1 decimal place the file has? Answer as "
        "@outliers[number] @max_outlier_minutes[value].",
        delivery_outliers,
        _READ_DELIVERIES + "q1, q3 = deliveries['minutes'].quantile([0.25, 0.75])\n"
        "iqr = q3 - q1\nm = deliveries['minutes']\n"
        "flagged = m[(m < q1 - 1.5 * iqr) | (m > q3 + 1.5 * iqr)]\n"
        "print(f'@outliers[{len(flagged)}] @max_outlier_minutes[{flagged.max():.1f}]')",
    ),
    _task(
        "late_share",
        "deliveries.csv",
        "A delivery in deliveries.csv is late when it took more than 45 minutes. Which "
        "courier has the highest share of late deliveries, and what is that share as a "
        "percentage, rounded to 1 decimal place? Answer as @courier[name] @late_pct[value].",
        late_share,
        _READ_DELIVERIES + "late = (deliveries['minutes'] > 45).groupby(deliveries['courier'])\n"
        "share = late.mean() * 100\n"
        "print(f'@courier[{share.idxmax()}] @late_pct[{share.max():.1f}]')",
    ),
]
