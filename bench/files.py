"""The bench's CSV files, reproducible from a seed: mixed, hot leads, noisy."""

from __future__ import annotations

import random

FIRST = ["Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Sofia", "Kenji", "Olu", "Priya"]
LAST = ["Doe", "Smith", "García", "Chen", "Khan", "Berg", "Rossi", "Tanaka", "Adeyemi", "Patel"]
COMPANIES = ["Acme Corp", "Example Inc", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"]
TITLES = ["CTO", "VP Sales", "Engineer", "Marketing Lead", "Founder", "Buyer", "Analyst"]


def make_csv(rows: int, seed: int, tag: str = "") -> bytes:
    """``rows`` data rows; ``tag`` goes into every e-mail, so files of different tags never
    share a lead (the warm-up file would otherwise turn rows of the measured one into updates)."""
    rnd = random.Random(seed)
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Mobile,LinkedIn,Badge ID,City,Notes"]
    for i in range(rows):
        # about 20 % of rows update a lead created earlier in the file
        n = rnd.randrange(i) if i > 100 and rnd.random() < 0.20 else i
        email = f"{FIRST[n % 10].lower()}.{LAST[n % 10].lower()}{tag}{n}@example{n % 13}.com"
        if rnd.random() < 0.02:
            email = f"broken-address-{i}"
        phone = f"+1 415 {200 + n // 10000:03d} {n % 10000:04d}"  # one per person
        mobile = f"+44 7700 {n % 1000000:06d}" if rnd.random() < 0.3 else ""
        linkedin = f"@{FIRST[n % 10].lower()}{n}" if rnd.random() < 0.3 else ""
        badge = f"B-{n}" if rnd.random() < 0.2 else ""
        notes = "Met at booth; wants a demo" if rnd.random() < 0.2 else ""
        out.append(
            ",".join(
                [
                    email,
                    FIRST[n % 10],
                    LAST[n % 10],
                    COMPANIES[n % 8],
                    TITLES[n % 7],
                    phone,
                    mobile,
                    linkedin,
                    badge,
                    f"City {n % 50}",
                    notes,
                ]
            )
        )
    return ("\n".join(out) + "\n").encode()


def make_hot_csv(rows: int, leads: int = 1) -> bytes:
    """``rows`` data rows that all hit the same ``leads`` leads (a shared inbox, a test address,
    a switchboard as the primary): each row changes the company of its lead back and forth, so
    every row appends an event to a lead whose history keeps growing. Same columns as
    ``make_csv``."""
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Mobile,LinkedIn,Badge ID,City,Notes"]
    for i in range(rows):
        n = i % leads
        company = COMPANIES[(i // leads) % 2]
        phone = f"+1 415 555 {n % 10000:04d}"
        out.append(f"hot{n}@example.com,Hot,Lead,{company},Buyer,{phone},,,,City 1,")
    return ("\n".join(out) + "\n").encode()


def make_noisy_csv(rows: int, seed: int) -> bytes:
    """``make_csv``'s rows with an invalid Mobile on every other row (an alias warning each:
    tens of thousands on one job) and every twentieth e-mail broken (thousands of row errors);
    no larger than ``make_csv``'s file (a 100k-row one stays under the 10 MB limit)."""
    lines = make_csv(rows, seed).decode().splitlines()  # imported into OUs of its own
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")  # make_csv writes no quoted cells
        if i % 2 == 0:
            cells[6] = "call me"
        if i % 20 == 7:
            cells[0] = f"nobody-{i}"
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()
