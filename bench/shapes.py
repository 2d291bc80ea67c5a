"""The files of the bench's shapes besides the mixed one (bench/files.py): what users bring.

Each shape is a CSV plus the mappings a person would choose for it in the wizard."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bench.files import COMPANIES, FIRST, LAST, TITLES

MIXED_FIELDS = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Company": "company",
    "Job Title": "title",
    "City": "city",
    "Notes": "notes",
}
MIXED_ALIASES = {
    "Phone": "_alias_phone",
    "Mobile": "_alias_phone",
    "LinkedIn": "_alias_social",
    "Badge ID": "_alias_external_id",
}


@dataclass(frozen=True)
class Shape:
    """A file and how it is mapped: the body of the start request without its ``file_id``."""

    name: str
    data: bytes
    field_mappings: dict[str, str] = field(default_factory=lambda: dict(MIXED_FIELDS))
    alias_mappings: dict[str, str] = field(default_factory=lambda: dict(MIXED_ALIASES))
    primary: str = "Email"

    @property
    def rows(self) -> int:
        return self.data.count(b"\n") - 1

    def start_body(self, file_id: str) -> dict[str, Any]:
        return {
            "file_id": file_id,
            "primary_identifier": {"column": self.primary, "kind": "email"},
            "field_mappings": self.field_mappings,
            "alias_mappings": self.alias_mappings,
        }


def make_b2b_csv(rows: int, seed: int, companies: int = 2_000) -> bytes:
    """A B2B list as a CRM exports it: people of ``companies`` companies, each person with a
    work address at the company's domain, and the company's switchboard number in the Phone
    column (shared by everyone of the company: from the second person of a company on, the
    phone alias belongs to another lead, so the row keeps its lead and gets a warning), the
    company's website, industry, size and country; about 10 % of rows update a person seen
    earlier in the file, 1 % have a broken address. 9 mapped columns."""
    rnd = random.Random(seed)
    industries = ["Software", "Manufacturing", "Retail", "Finance", "Logistics", "Health"]
    countries = ["US", "DE", "FR", "GB", "NL", "SE", "ES", "IT"]
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Website,Industry,Employees,Country"]
    for i in range(rows):
        n = rnd.randrange(i) if i > 100 and rnd.random() < 0.10 else i
        co = (n * 7919) % companies  # spread the people of a company over the file
        domain = f"co{co}.example"
        email = f"{FIRST[n % 10].lower()}.{LAST[(n // 10) % 10][0].lower()}{n}@{domain}"
        if rnd.random() < 0.01:
            email = f"not-an-address-{i}"
        switchboard = f"+1 212 {300 + co // 10000:03d} {co % 10000:04d}"
        out.append(
            ",".join(
                [
                    email,
                    FIRST[n % 10],
                    LAST[(n // 10) % 10],
                    f"{COMPANIES[co % 8].split()[0]} {co}",
                    TITLES[n % 7],
                    switchboard,
                    domain,
                    industries[co % 6],
                    str(10 + (co % 40) * 25),
                    countries[co % 8],
                ]
            )
        )
    return ("\n".join(out) + "\n").encode()


B2B_FIELDS = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Company": "company",
    "Job Title": "title",
    "Website": "website",
    "Industry": "industry",
    "Employees": "employee_count",
    "Country": "country",
}
B2B_ALIASES = {"Phone": "_alias_phone"}


def make_updates_csv(mixed: bytes) -> bytes:
    """A corrected re-export of ``mixed`` (bench/files.make_csv's file, already imported): each
    of its leads once, by its e-mail, with a new job title and city; rows whose address was
    broken are left out (they made no lead). Every row updates a lead that exists."""
    lines = mixed.decode().splitlines()
    out = [lines[0]]
    seen: set[str] = set()
    for line in lines[1:]:
        cells = line.split(",")  # make_csv writes no quoted cells
        if "@" not in cells[0] or cells[0] in seen:
            continue
        seen.add(cells[0])
        cells[4] = "Head of " + cells[4]
        cells[9] = cells[9].replace("City", "Town")
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()


def make_hot_mix_csv(rows: int, hot: int, seed: int, share: float = 0.9) -> bytes:
    """``rows`` rows of which ``share`` hit ``hot`` leads (a few hundred: shared inboxes, the
    sales team's test addresses, resellers), each time changing the lead's company and city;
    the others are distinct new leads. Same columns as the mixed file."""
    rnd = random.Random(seed)
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Mobile,LinkedIn,Badge ID,City,Notes"]
    for i in range(rows):
        if rnd.random() < share:
            n = rnd.randrange(hot)
            email, phone = f"hot{n}@reseller{n % 17}.example", f"+1 415 555 {n:04d}"
            company, city = COMPANIES[i % 8], f"City {i % 50}"
        else:
            email, phone = (
                f"new{i}@example{i % 13}.com",
                f"+1 628 {200 + i // 10000:03d} {i % 10000:04d}",
            )
            company, city = COMPANIES[i % 8], "City 1"
        out.append(f"{email},Hot,Lead,{company},Buyer,{phone},,,,{city},")
    return ("\n".join(out) + "\n").encode()
