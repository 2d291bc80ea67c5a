"""The bench's CSV files, reproducible from a seed: mixed and noisy (the other shapes:
bench/shapes.py)."""

from __future__ import annotations

import random

FIRST = ["Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Sofia", "Kenji", "Olu", "Priya"]
LAST = ["Doe", "Smith", "García", "Chen", "Khan", "Berg", "Rossi", "Tanaka", "Adeyemi", "Patel"]
COMPANIES = ["Acme Corp", "Example Inc", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"]
TITLES = ["CTO", "VP Sales", "Engineer", "Marketing Lead", "Founder", "Buyer", "Analyst"]


def make_csv(rows: int, seed: int, tag: str = "") -> bytes:
    """``rows`` data rows; ``tag`` goes into every e-mail and alias, so files of different tags
    never share a lead or an alias (a warm-up file would otherwise turn rows of the measured one
    into updates, or its aliases into warnings). Files of one tag differ only by their seed."""
    rnd = random.Random(seed)
    area, mobile_prefix = ("415", "7700") if not tag else ("510", "7911")
    out = ["Email,First Name,Last Name,Company,Job Title,Phone,Mobile,LinkedIn,Badge ID,City,Notes"]
    for i in range(rows):
        # about 20 % of rows update a lead created earlier in the file
        n = rnd.randrange(i) if i > 100 and rnd.random() < 0.20 else i
        email = f"{FIRST[n % 10].lower()}.{LAST[n % 10].lower()}{tag}{n}@example{n % 13}.com"
        if rnd.random() < 0.02:
            email = f"broken-address-{i}"
        # one per person, and none shared with a person of a file of another tag
        phone = f"+1 {area} {200 + n // 10000:03d} {n % 10000:04d}"
        mobile = f"+44 {mobile_prefix} {n % 1000000:06d}" if rnd.random() < 0.3 else ""
        linkedin = f"@{FIRST[n % 10].lower()}{tag}{n}" if rnd.random() < 0.3 else ""
        badge = f"B-{tag}{n}" if rnd.random() < 0.2 else ""
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
