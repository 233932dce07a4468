"""The data domain's CSV files, made by code: the same bytes on every machine and run.

Each file comes from its own seeded ``random.Random`` and uses only ``random()`` and
plain arithmetic (no ``math.sin``, no ``choice``), so neither the Python version nor the
platform's maths library can change a byte. Numbers are written with fixed decimals,
so the file, not a float in memory, is what every answer is computed from.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Callable, Iterable

PRODUCTS = {  # name: base unit price
    "notebook": 3.40,
    "pencil set": 4.10,
    "stapler": 11.90,
    "desk lamp": 24.50,
    "backpack": 38.00,
    "calculator": 17.25,
    "marker pack": 6.80,
    "ring binder": 2.95,
}
REGIONS = ("North", "South", "East", "West")
SENSORS = ("S1", "S2", "S3", "S4")
COURIERS = ("Ada", "Bram", "Chen", "Dara", "Emil")


def _pick(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[int(rng.random() * len(items))]


def orders_csv() -> str:
    """240 orders of office supplies over the first half of 2024."""
    rng = random.Random(20240601)
    names = tuple(PRODUCTS)
    start = dt.date(2024, 1, 1)
    lines = ["order_id,date,customer,region,product,quantity,unit_price"]
    for order in range(1, 241):
        day = start + dt.timedelta(days=int(rng.random() * 182))
        customer = f"C{1 + int(rng.random() * 40):03d}"
        region = _pick(rng, REGIONS)
        product = _pick(rng, names)
        quantity = 1 + int(rng.random() * 12)
        price = PRODUCTS[product] * (0.85 + 0.3 * rng.random())
        lines.append(
            f"{order},{day.isoformat()},{customer},{region},{product},{quantity},{price:.2f}"
        )
    return "\n".join(lines) + "\n"


def sensors_csv() -> str:
    """Hourly temperature and humidity of four sensors over two weeks, with gaps."""
    rng = random.Random(20240314)
    base = {"S1": 19.0, "S2": 21.5, "S3": 17.0, "S4": 23.0}
    gaps = {"S1": 0.01, "S2": 0.03, "S3": 0.07, "S4": 0.02}  # chance a temperature is lost
    start = dt.datetime(2024, 3, 1)
    lines = ["timestamp,sensor,temperature_c,humidity_pct"]
    for hour in range(14 * 24):
        when = start + dt.timedelta(hours=hour)
        day, clock = divmod(hour, 24)
        warmth = 6 - abs(clock - 14) * 0.5  # warmest at two in the afternoon
        trend = 0.15 * day + (1.2 if day % 5 == 2 else 0.0)  # a warm spell every five days
        for sensor in SENSORS:
            temperature = base[sensor] + warmth + trend + 2 * (rng.random() - 0.5)
            humidity = 72 - 1.6 * (warmth + trend) + 8 * (rng.random() - 0.5)
            t_text = "" if rng.random() < gaps[sensor] else f"{temperature:.1f}"
            h_text = "" if rng.random() < 0.02 else f"{humidity:.1f}"
            lines.append(f"{when:%Y-%m-%d %H:%M},{sensor},{t_text},{h_text}")
    return "\n".join(lines) + "\n"


def deliveries_csv() -> str:
    """300 deliveries by five couriers, a few of them very slow or very quick."""
    rng = random.Random(20240905)
    pace = {"Ada": 2.6, "Bram": 3.1, "Chen": 2.4, "Dara": 3.4, "Emil": 2.8}  # minutes per km
    lines = ["delivery_id,courier,distance_km,minutes"]
    for delivery in range(1, 301):
        courier = _pick(rng, COURIERS)
        distance = 1.5 + 12 * rng.random()
        minutes = 6 + pace[courier] * distance + 10 * (rng.random() - 0.5)
        odd = rng.random()
        if odd < 0.025:  # stuck in traffic, or a wrong address
            minutes += 45 + 40 * rng.random()
        elif odd < 0.035:  # a recorded time that cannot be right
            minutes = 1 + 2 * rng.random()
        lines.append(f"{delivery},{courier},{distance:.2f},{minutes:.1f}")
    return "\n".join(lines) + "\n"


FILES: dict[str, Callable[[], str]] = {
    "orders.csv": orders_csv,
    "sensors.csv": sensors_csv,
    "deliveries.csv": deliveries_csv,
}


def write_files(names: Iterable[str], folder: str = ".") -> None:
    """Write the named files into ``folder`` (a task's setup: its kernel's own folder)."""
    for name in names:
        with open(os.path.join(folder, name), "w", encoding="utf-8", newline="") as f:
            f.write(FILES[name]())
