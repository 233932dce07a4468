"""Shop: a small catalogue with prices, stock, discounts and regional taxes."""

from __future__ import annotations

from .base import BuiltinTask, stateless_tools

# item: (category, unit price, units in stock)
CATALOGUE: dict[str, tuple[str, float, int]] = {
    "notebook": ("stationery", 3.75, 120),
    "pen": ("stationery", 1.2, 500),
    "stapler": ("stationery", 8.9, 0),
    "marker": ("stationery", 2.35, 40),
    "folder": ("stationery", 0.95, 0),
    "kettle": ("kitchen", 24.5, 12),
    "mug": ("kitchen", 6.0, 80),
    "toaster": ("kitchen", 31.99, 3),
    "spatula": ("kitchen", 4.49, 0),
    "teapot": ("kitchen", 18.75, 7),
    "hose": ("garden", 15.0, 20),
    "shovel": ("garden", 22.4, 5),
    "seeds": ("garden", 2.1, 300),
    "gloves": ("garden", 7.8, 0),
    "lamp": ("lighting", 42.0, 6),
    "bulb": ("lighting", 3.3, 250),
    "lantern": ("lighting", 27.5, 0),
}
TAX_RATES = {"north": 0.2, "south": 0.08, "east": 0.12, "west": 0.0}


def _item(item: str) -> tuple[str, float, int]:
    key = str(item).strip().lower()
    if key not in CATALOGUE:
        raise ValueError(f"unknown item {item!r}")
    return CATALOGUE[key]


def list_items(category: str) -> list[str]:
    """The items of a category (stationery, kitchen, garden, lighting), in catalogue order."""
    cat = str(category).strip().lower()
    items = [name for name, (c, _, _) in CATALOGUE.items() if c == cat]
    if not items:
        raise ValueError(f"unknown category {category!r}")
    return items


def get_price(item: str) -> float:
    """The unit price of an item, in dollars."""
    return _item(item)[1]


def get_stock(item: str) -> int:
    """How many units of an item are in stock."""
    return _item(item)[2]


def apply_discount(amount: float, percent: float) -> float:
    """An amount after a percentage discount, rounded to cents: apply_discount(200, 15) -> 170.0."""
    return round(float(amount) * (1 - float(percent) / 100), 2)


def add_tax(amount: float, region: str) -> float:
    """An amount with the sales tax of a region (north, south, east, west), rounded to cents."""
    key = str(region).strip().lower()
    if key not in TAX_RATES:
        raise ValueError(f"unknown region {region!r}")
    return round(float(amount) * (1 + TAX_RATES[key]), 2)


make_tools = stateless_tools(list_items, get_price, get_stock, apply_discount, add_tax)


TASKS = [
    BuiltinTask(
        "basket_total",
        "What do 3 notebooks, 2 pens and 1 kettle cost together, in dollars? "
        "Answer with two decimals.",
        38.15,
        "print(round(3 * get_price('notebook') + 2 * get_price('pen') + get_price('kettle'), 2))",
    ),
    BuiltinTask(
        "cheapest_in_stock",
        "Which stationery item is the cheapest among those that are in stock?",
        "pen",
        "items = [i for i in list_items('stationery') if get_stock(i) > 0]\n"
        "print(min(items, key=get_price))",
    ),
    BuiltinTask(
        "discount_then_tax",
        "A customer in the north region buys 2 toasters and 4 mugs with a 15% discount on "
        "the total. What is the final price after the discount and then the region's tax? "
        "Answer with two decimals.",
        89.74,
        "total = 2 * get_price('toaster') + 4 * get_price('mug')\n"
        "print(add_tax(apply_discount(total, 15), 'north'))",
    ),
    BuiltinTask(
        "kitchen_under_20",
        "How many kitchen items cost less than 20 dollars and are in stock?",
        2,
        "print(sum(1 for i in list_items('kitchen') if get_price(i) < 20 and get_stock(i) > 0))",
    ),
    BuiltinTask(
        "garden_stock_value",
        "What is the total value (unit price times units in stock) of all garden items in "
        "stock? Answer with two decimals.",
        1042.0,
        "print(round(sum(get_price(i) * get_stock(i) for i in list_items('garden')), 2))",
    ),
    BuiltinTask(
        "dearest_category",
        "Among the categories stationery, garden and lighting, which has the highest average "
        "unit price (over all its items, in stock or not)?",
        "lighting",
        "def avg(c):\n    items = list_items(c)\n    return sum(get_price(i) for i in items) / len(items)\n"
        "print(max(['stationery', 'garden', 'lighting'], key=avg))",
    ),
]
