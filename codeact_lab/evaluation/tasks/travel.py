"""Travel: flights between cities, hotels priced in local currency, exchange rates."""

from __future__ import annotations

from typing import Any

from .base import BuiltinTask, stateless_tools

# (code, origin, destination, day, departure "HH:MM", minutes in the air, price in EUR)
FLIGHTS = [
    ("TL101", "Lisbon", "Oslo", "Monday", "07:10", 245, 189.0),
    ("TL102", "Lisbon", "Oslo", "Monday", "12:30", 230, 142.5),
    ("TL103", "Lisbon", "Oslo", "Monday", "18:45", 250, 121.0),
    ("TL104", "Lisbon", "Oslo", "Tuesday", "09:00", 240, 99.0),
    ("NR210", "Oslo", "Tokyo", "Wednesday", "10:15", 760, 612.0),
    ("NR211", "Oslo", "Tokyo", "Wednesday", "22:05", 715, 575.0),
    ("NR212", "Oslo", "Tokyo", "Wednesday", "06:40", 1000, 540.0),
    ("AZ330", "Lisbon", "Tokyo", "Wednesday", "08:00", 900, 702.0),
    ("AZ331", "Lisbon", "Tokyo", "Wednesday", "05:30", 990, 655.0),
    ("AZ332", "Lisbon", "Tokyo", "Wednesday", "13:20", 870, 731.0),
    ("KL401", "Oslo", "Lisbon", "Friday", "15:00", 235, 133.0),
    ("KL402", "Oslo", "Lisbon", "Friday", "08:20", 250, 158.0),
]
# city: [(hotel, price per night in the city's currency, rating out of 5)]
HOTELS = {
    "Oslo": [("Fjord Inn", 1450.0, 4.1), ("Harbour Rooms", 990.0, 3.6), ("Nordlys", 1720.0, 4.7)],
    "Tokyo": [
        ("Sakura Stay", 14500.0, 4.3),
        ("Capsule One", 4800.0, 3.9),
        ("Kanda House", 11200.0, 4.5),
        ("Ginza Grand", 32000.0, 4.9),
    ],
    "Lisbon": [("Alfama Lodge", 95.0, 4.4), ("Rio Hostel", 38.0, 3.8), ("Tejo Suites", 160.0, 4.8)],
}
CURRENCY = {"Oslo": "NOK", "Tokyo": "JPY", "Lisbon": "EUR"}
EUR_VALUE = {"EUR": 1.0, "NOK": 0.086, "JPY": 0.0062, "USD": 0.92}  # one unit, in euros


def find_flights(origin: str, destination: str, day: str) -> list[dict[str, Any]]:
    """Flights from origin to destination on a weekday: code, departure, minutes, price_eur."""
    return [
        {"code": code, "departure": dep, "minutes": minutes, "price_eur": price}
        for code, o, d, dy, dep, minutes, price in FLIGHTS
        if (o, d, dy) == (str(origin).strip(), str(destination).strip(), str(day).strip())
    ]


def hotels(city: str) -> list[dict[str, Any]]:
    """The hotels of a city: name, price_per_night (in the city's own currency) and rating."""
    key = str(city).strip()
    if key not in HOTELS:
        raise ValueError(f"no hotels known in {city!r}")
    return [{"name": n, "price_per_night": p, "rating": r} for n, p, r in HOTELS[key]]


def city_currency(city: str) -> str:
    """The currency code a city's prices are in (EUR, NOK, JPY)."""
    key = str(city).strip()
    if key not in CURRENCY:
        raise ValueError(f"unknown city {city!r}")
    return CURRENCY[key]


def convert(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert an amount between currencies (EUR, NOK, JPY, USD), rounded to 2 decimals."""
    src, dst = str(from_currency).strip().upper(), str(to_currency).strip().upper()
    for code in (src, dst):
        if code not in EUR_VALUE:
            raise ValueError(f"unknown currency {code!r}")
    return round(float(amount) * EUR_VALUE[src] / EUR_VALUE[dst], 2)


make_tools = stateless_tools(find_flights, hotels, city_currency, convert)


TASKS = [
    BuiltinTask(
        "cheapest_flight_in_nok",
        "What does the cheapest flight from Lisbon to Oslo on Monday cost in Norwegian "
        "kroner (NOK)? Answer with two decimals.",
        1406.98,
        "print(convert(min(f['price_eur'] for f in find_flights('Lisbon', 'Oslo', 'Monday')), "
        "'EUR', 'NOK'))",
    ),
    BuiltinTask(
        "earliest_arrival",
        "Of all Wednesday flights to Tokyo from Oslo or from Lisbon, which one lands first "
        "(departure time plus minutes in the air, all times in one time zone)? Give its code.",
        "AZ331",
        "def lands(f):\n    h, m = map(int, f['departure'].split(':'))\n"
        "    return h * 60 + m + f['minutes']\n"
        "flights = find_flights('Oslo', 'Tokyo', 'Wednesday') + "
        "find_flights('Lisbon', 'Tokyo', 'Wednesday')\n"
        "print(min(flights, key=lands)['code'])",
    ),
    BuiltinTask(
        "best_hotel_under_budget",
        "Which Tokyo hotel has the best rating among those that cost at most 100 euros a "
        "night? Hotel prices are in the city's currency.",
        "Kanda House",
        "cur = city_currency('Tokyo')\n"
        "ok = [h for h in hotels('Tokyo') if convert(h['price_per_night'], cur, 'EUR') <= 100]\n"
        "print(max(ok, key=lambda h: h['rating'])['name'])",
    ),
    BuiltinTask(
        "trip_cost",
        "Plan a trip: the cheapest flight from Lisbon to Oslo on Monday and 3 nights at the "
        "cheapest Oslo hotel rated at least 4. What is the total in euros, with two decimals?",
        495.1,
        "flight = min(f['price_eur'] for f in find_flights('Lisbon', 'Oslo', 'Monday'))\n"
        "night = min(h['price_per_night'] for h in hotels('Oslo') if h['rating'] >= 4)\n"
        "print(round(flight + convert(3 * night, city_currency('Oslo'), 'EUR'), 2))",
    ),
    BuiltinTask(
        "direct_or_via_oslo",
        "To fly from Lisbon to Tokyo, compare the cheapest direct flight on Wednesday with "
        "the cheapest Lisbon-Oslo flight on Tuesday plus the cheapest Oslo-Tokyo flight on "
        "Wednesday. How many euros does the cheaper option save?",
        16.0,
        "direct = min(f['price_eur'] for f in find_flights('Lisbon', 'Tokyo', 'Wednesday'))\n"
        "via = min(f['price_eur'] for f in find_flights('Lisbon', 'Oslo', 'Tuesday')) + "
        "min(f['price_eur'] for f in find_flights('Oslo', 'Tokyo', 'Wednesday'))\n"
        "print(abs(direct - via))",
    ),
]
