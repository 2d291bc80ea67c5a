"""``leadimport token create | list | revoke``: API tokens, straight on the database (the
configured one, or the embedded one of the data folder)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from runtime.settings import Settings
from runtime.supervisor import services

if TYPE_CHECKING:
    from adapters.tokens import TokenInfo

UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_DURATION = re.compile(r"(\d{1,6})([dhm])")
MAX_EXPIRY = timedelta(days=3650)
MAX_NAME = 100
MAX_LIST = 1000  # adapters/tokens.py lists no more at once


def duration(raw: str) -> timedelta:
    """An argparse type: ``90d``, ``12h``, ``30m``; more than zero, at most ten years."""
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"not a duration: {raw!r}; write a whole number and d (days), h (hours) or m "
            "(minutes), e.g. 90d, 12h or 30m"
        )
    delta = timedelta(**{UNITS[match[2]]: int(match[1])})
    if not timedelta(0) < delta <= MAX_EXPIRY:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is out of range: more than 0 and at most {MAX_EXPIRY.days}d"
        )
    return delta


def token_name(raw: str) -> str:
    """An argparse type: a name of 1 to 100 printable characters."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise argparse.ArgumentTypeError(
            f"a token name is 1 to {MAX_NAME} printable characters, got {raw!r}"
        )
    return name


def list_limit(raw: str) -> int:
    """An argparse type: 1 to 1000."""
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIST):
        raise argparse.ArgumentTypeError(f"not a whole number from 1 to {MAX_LIST}: {raw!r}")
    return int(raw)


def add_commands(sub: Any) -> None:
    """The ``token`` command and its subcommands on the CLI's subparsers."""
    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token bound to an OU")
    create.add_argument("--ou", required=True)
    create.add_argument("--name", type=token_name, help="what the token is for (shown by list)")
    create.add_argument(
        "--expires-in",
        type=duration,
        metavar="DURATION",
        help="e.g. 90d, 12h or 30m (default: never)",
    )
    listing = token_sub.add_parser(
        "list", help="the tokens (id, name, OU, dates; never the secret), newest first"
    )
    listing.add_argument("--ou", help="only this OU's tokens")
    listing.add_argument("--all", action="store_true", help="also revoked and expired tokens")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--limit", type=list_limit, default=100, help="at most this many")
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (tok_...)")
    revoke.add_argument("token_id", metavar="ID")


def _when(value: datetime | None, empty: str = "-") -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else empty


def _row(info: TokenInfo, now: datetime) -> dict[str, Any]:
    return {
        "id": info.token_id,
        "name": info.name,
        "ou": info.ou,
        "created_at": _when(info.created_at),
        "expires_at": _when(info.expires_at, "") or None,
        "last_used_at": _when(info.last_used_at, "") or None,
        "revoked_at": _when(info.revoked_at, "") or None,
        "state": info.state(now),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    columns = [
        ("ID", "id"),
        ("NAME", "name"),
        ("OU", "ou"),
        ("CREATED", "created_at"),
        ("EXPIRES", "expires_at"),
        ("LAST USED", "last_used_at"),
        ("STATE", "state"),
    ]
    cells = [[title for title, _ in columns]]
    cells += [[str(r[key]) if r[key] is not None else "-" for _, key in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    from adapters import postgres

    command = {"create": _create, "list": _list, "revoke": _revoke}[args.token_command]
    with services(settings, need_kafka=False) as s:
        postgres.migrate(s.database_url)
        pool = postgres.make_pool(s.database_url, max_size=1)
        try:
            return command(pool, args)
        finally:
            pool.close()


def _create(pool: Any, args: argparse.Namespace) -> int:
    from adapters import tokens

    expires_at = datetime.now(UTC) + args.expires_in if args.expires_in else None
    secret, info = tokens.issue_token(pool, args.ou, name=args.name, expires_at=expires_at)
    named = f" ({info.name!r})" if info.name else ""
    expiry = f"expires {_when(info.expires_at)}" if info.expires_at else "does not expire"
    print(
        f"Created token {info.token_id}{named} for OU {info.ou!r}; it {expiry}. "
        "Keep it: it is shown only now.",
        file=sys.stderr,
    )
    print(secret)
    return 0


def _list(pool: Any, args: argparse.Namespace) -> int:
    from adapters import tokens

    found, total = tokens.list_tokens(pool, ou=args.ou, include_inactive=args.all, limit=args.limit)
    now = datetime.now(UTC)
    rows = [_row(info, now) for info in found]
    if args.json:
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    elif rows:
        print(_table(rows))
    if total > len(rows):
        print(
            f"{len(rows)} of {total} tokens shown, the newest; --limit shows more", file=sys.stderr
        )
    elif not rows:
        print("no tokens" if args.all else "no tokens in use (--all: all)", file=sys.stderr)
    return 0


def _revoke(pool: Any, args: argparse.Namespace) -> int:
    from adapters import tokens

    info, revoked_now = tokens.revoke_token(pool, args.token_id)
    if info is None:
        print(
            f"no token has the id {args.token_id!r}; 'leadimport token list --all' shows the ids",
            file=sys.stderr,
        )
        return 1
    if revoked_now:
        print(f"revoked {info.token_id} (OU {info.ou!r}) on {_when(info.revoked_at)}")
    else:
        print(f"{info.token_id} was already revoked (on {_when(info.revoked_at)})")
    return 0
