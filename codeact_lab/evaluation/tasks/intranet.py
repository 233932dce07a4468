"""Intranet: a small company site browsed page by page (the browser keeps its state)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .base import BuiltinTask

PEOPLE = {
    "omar-haddad": (
        "Omar Haddad",
        "sales",
        "omar.haddad@northwind.example",
        "+47 555 0101",
        "S-12",
    ),
    "lena-vogt": ("Lena Vogt", "sales", "lena.vogt@northwind.example", "+47 555 0117", "S-14"),
    "ravi-menon": ("Ravi Menon", "sales", "ravi.menon@northwind.example", "+47 555 0142", "S-15"),
    "kim-sato": ("Kim Sato", "support", "kim.sato@northwind.example", "+47 555 0160", "B-02"),
    "ana-ruiz": ("Ana Ruiz", "support", "ana.ruiz@northwind.example", "+47 555 0178", "B-03"),
    "tom-berg": ("Tom Berg", "support", "tom.berg@northwind.example", "+47 555 0193", "B-03"),
    "ivy-chen": ("Ivy Chen", "support", "ivy.chen@northwind.example", "+47 555 0125", "B-07"),
    "noor-aziz": ("Noor Aziz", "research", "noor.aziz@northwind.example", "+47 555 0131", "R-21"),
    "paul-dumas": (
        "Paul Dumas",
        "research",
        "paul.dumas@northwind.example",
        "+47 555 0188",
        "R-22",
    ),
}
DEPARTMENTS = {"sales": "Omar Haddad", "support": "Kim Sato", "research": "Noor Aziz"}
PRODUCTS = {"aurora": (49.0, 2022), "borealis": (129.5, 2024), "cirrus": (18.25, 2023)}


def build_pages() -> dict[str, str]:
    pages = {
        "/": "Northwind Labs intranet\nLinks: [/staff] Staff  [/products] Products  [/news] News",
        "/news": "News\nThe spring all-hands is on 14 March.\nLinks: [/] Home",
        "/staff": "Staff directory, by department\n"
        + "\n".join(f"[/staff/{d}] {d.title()}" for d in DEPARTMENTS)
        + "\nLinks: [/] Home",
        "/products": "Products\n"
        + "\n".join(f"[/products/{p}] {p.title()}" for p in PRODUCTS)
        + "\nLinks: [/] Home",
    }
    for dept, head in DEPARTMENTS.items():
        members = [f"[/people/{slug}] {p[0]}" for slug, p in PEOPLE.items() if p[1] == dept]
        pages[f"/staff/{dept}"] = (
            f"{dept.title()} department\nHead of department: {head}\nPeople:\n"
            + "\n".join(members)
            + "\nLinks: [/staff] Staff directory"
        )
    for slug, (name, dept, email, phone, office) in PEOPLE.items():
        pages[f"/people/{slug}"] = (
            f"{name}\nDepartment: {dept.title()}\nEmail: {email}\nPhone: {phone}\n"
            f"Office: {office}\nLinks: [/staff/{dept}] {dept.title()} department"
        )
    for slug, (price, year) in PRODUCTS.items():
        pages[f"/products/{slug}"] = (
            f"{slug.title()}\nPrice: {price:.2f} dollars\nLaunched: {year}\n"
            "Links: [/products] Products"
        )
    return pages


class Browser:
    """One visitor's view of the site: a current page and the pages visited before it."""

    def __init__(self) -> None:
        self.pages = build_pages()
        self.history: list[str] = []
        self.current = "/"

    def links(self) -> list[str]:
        return re.findall(r"\[(/[^\]]*)\]", self.pages[self.current])

    def render(self) -> str:
        return f"[page {self.current}]\n{self.pages[self.current]}"

    def view(self) -> str:
        """Show the current page. Links look like [/path]; pass the path to click()."""
        return self.render()

    def click(self, link: str) -> str:
        """Open a link shown on the current page, e.g. click('/staff'); returns the new page."""
        target = str(link).strip().strip("[]'\" ")
        if target not in self.links():
            return f"[No link {target} on page {self.current}. Its links: {' '.join(self.links())}]"
        self.history.append(self.current)
        self.current = target
        return self.render()

    def back(self) -> str:
        """Go back to the previous page; returns it."""
        if not self.history:
            return "[No previous page.]"
        self.current = self.history.pop()
        return self.render()


def make_tools() -> dict[str, Callable[..., Any]]:
    browser = Browser()  # each task starts on the home page
    return {"view": browser.view, "click": browser.click, "back": browser.back}


_WALK = (
    "import re\nclick('/staff')\npeople = {}\n"
    "for dept in re.findall(r'\\[(/staff/\\w+)\\]', view()):\n"
    "    page = click(dept)\n"
    "    for link in re.findall(r'\\[(/people/[\\w-]+)\\]', page):\n"
    "        people[link] = click(link)\n        back()\n"
    "    back()\n"
)

TASKS = [
    BuiltinTask(
        "email_of",
        "Using the company intranet, find the email address of Ivy Chen.",
        "ivy.chen@northwind.example",
        _WALK + "print(next(re.search(r'Email: (\\S+)', p).group(1) "
        "for p in people.values() if p.split('\\n')[1] == 'Ivy Chen'))",
    ),
    BuiltinTask(
        "support_headcount",
        "Using the company intranet, how many people work in the Support department, its "
        "head included?",
        4,
        "import re\nclick('/staff')\n"
        "print(len(re.findall(r'\\[/people/', click('/staff/support'))))",
    ),
    BuiltinTask(
        "phone_owner",
        "Using the company intranet, find who has the phone number +47 555 0193. Give the "
        "person's full name.",
        "Tom Berg",
        _WALK + "print(next(p.split('\\n')[1] for p in people.values() if '+47 555 0193' in p))",
    ),
    BuiltinTask(
        "head_office",
        "Using the company intranet, in which office does the head of the Research department sit?",
        "R-21",
        "import re\nclick('/staff')\nhead = re.search(r'Head of department: (.+)', "
        "click('/staff/research')).group(1)\n"
        "slug = '/people/' + head.lower().replace(' ', '-')\n"
        "print(re.search(r'Office: (\\S+)', click(slug)).group(1))",
    ),
    BuiltinTask(
        "product_prices",
        "Using the company intranet, what do the products Aurora and Cirrus cost together, "
        "in dollars with two decimals?",
        67.25,
        "import re\nclick('/products')\ntotal = 0.0\n"
        "for slug in ['/products/aurora', '/products/cirrus']:\n"
        "    total += float(re.search(r'Price: ([\\d.]+)', click(slug)).group(1))\n"
        "    back()\nprint(f'{total:.2f}')",
    ),
]
