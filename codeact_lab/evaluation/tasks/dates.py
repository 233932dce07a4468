"""Dates: weekdays, date arithmetic and a company's holiday calendar."""

from __future__ import annotations

import datetime as dt

from .base import BuiltinTask, stateless_tools

# The company's holidays (its own calendar, not any country's).
HOLIDAYS = {
    2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-01", "2025-06-09",
           "2025-10-06", "2025-12-24", "2025-12-25", "2025-12-26", "2025-12-31"],
    2026: ["2026-01-01", "2026-01-02", "2026-04-03", "2026-04-06", "2026-05-01",
           "2026-05-25", "2026-10-05", "2026-10-30", "2026-12-24", "2026-12-25"],
}  # fmt: skip


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"not a date like 2025-03-14: {value!r}") from None


def weekday(date: str) -> str:
    """The day of the week of a date given as YYYY-MM-DD, e.g. 'Friday'."""
    return _date(date).strftime("%A")


def add_days(date: str, days: int) -> str:
    """The date a number of calendar days after (or, if negative, before) a date."""
    return (_date(date) + dt.timedelta(days=int(days))).isoformat()


def holidays(year: int) -> list[str]:
    """The company's holidays of a year (2025 or 2026), as YYYY-MM-DD dates."""
    if int(year) not in HOLIDAYS:
        raise ValueError(f"no holiday calendar for {year}")
    return list(HOLIDAYS[int(year)])


def is_business_day(date: str) -> bool:
    """True on Monday to Friday, unless the date is a company holiday."""
    day = _date(date)
    return day.weekday() < 5 and day.isoformat() not in HOLIDAYS.get(day.year, [])


def days_between(start: str, end: str) -> int:
    """Calendar days from start to end (negative when end is earlier)."""
    return (_date(end) - _date(start)).days


make_tools = stateless_tools(weekday, add_days, holidays, is_business_day, days_between)


TASKS = [
    BuiltinTask(
        "business_days_later",
        "Which date is 10 business days after 2025-12-19 (not counting 2025-12-19 itself)? "
        "Business days are Monday to Friday except company holidays. Answer as YYYY-MM-DD.",
        "2026-01-12",
        "day, left = '2025-12-19', 10\nwhile left:\n    day = add_days(day, 1)\n"
        "    if is_business_day(day):\n        left -= 1\nprint(day)",
    ),
    BuiltinTask(
        "business_days_in_april",
        "How many business days (Monday to Friday, company holidays excluded) are there in "
        "April 2026?",
        20,
        "print(sum(is_business_day(add_days('2026-04-01', i)) for i in range(30)))",
    ),
    BuiltinTask(
        "first_holiday_weekday",
        "On which day of the week does the company's first holiday of 2026 fall?",
        "Thursday",
        "print(weekday(holidays(2026)[0]))",
    ),
    BuiltinTask(
        "monday_holidays",
        "How many of the company's 2025 holidays fall on a Monday?",
        3,
        "print(sum(weekday(d) == 'Monday' for d in holidays(2025)))",
    ),
    BuiltinTask(
        "last_business_friday",
        "What is the last Friday of October 2026 that is a business day? Answer as YYYY-MM-DD.",
        "2026-10-23",
        "fridays = [add_days('2026-10-01', i) for i in range(31)]\n"
        "print([d for d in fridays if weekday(d) == 'Friday' and is_business_day(d)][-1])",
    ),
]
