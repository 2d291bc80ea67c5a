"""Suggested mappings of a previewed file (`suggest`): a primary identifier, a profile field per
column, the columns that are more identifiers of the lead (aliases), and the columns left out.

Pure: it reads the header names, the e-mail and phone columns `domain.csvfile` detected (by
name and by their values) and the sample rows. Applied as it is, a suggestion is a valid start
request: every column is a header, used at most once; the primary identifier is neither a field
nor an alias; every field is a canonical name of `domain.fields` and is suggested for one column
at most; every alias target is one of `domain.identifiers.ALIAS_TARGETS`.

A header is read as words: camelCase and ``_ - . / ( )`` split it, accents and case are dropped
("E-Mail-Adresse" -> e mail adresse, "MailingPostalCode" -> mailing postal code), ``#`` and
``N°`` read as "number". The first rule that applies decides:

1. Identifier by name (`_kind_by_name`): e-mail ("Email", "E-mail 2 Address", "Courriel",
   "Correo electrónico"), phone ("Phone", "Mobile", "Cell", "Telefon", "Handy", "Portable",
   "Móvil"), social ("LinkedIn", "Twitter Username", "Xing"), cookie ("Cookie ID",
   "hubspotutk"), external id ("ID", "Record ID", "Customer ID", "Kundennummer", "N° client",
   "Badge ID"; not "Account ID" or "Owner ID": those are shared by many leads).
   Such a column is left out when it is *about* an identifier ("Email Opt Out", "Phone Type",
   "Email Domain", "Owner Email", "Assistant Phone", "LinkedIn Bio") or holds one a whole
   company shares ("Company Phone", "Zentrale"). A LinkedIn or Twitter column named as a URL or
   profile ("LinkedIn URL", "Twitter Profile") is the profile field instead (`linkedin_url`,
   `twitter`); a handle or a bare "LinkedIn" / "Twitter" column is an alias (`_alias_social`).
   A fax column is never a phone.
2. A column whose sample values are mostly LinkedIn or Twitter/X profile URLs (LinkedIn's own
   export names it "URL"): `linkedin_url` / `twitter`.
3. Profile field by name (`_SYNONYMS`, English, German, French, Spanish and a few Dutch,
   Italian and Portuguese names): exact names first; then the same name with neutral words
   around it ("Mailing City", "Business Street", "Company Website", "Person - Name"); then with
   "Other" / "Secondary" ("Other Street"). Each field goes to one column: the best-ranked,
   then the first in the file. A column whose field is taken by a better one may fall back to
   another (Outlook's "Title", the Mr/Dr column next to "Job Title", becomes `salutation`).
   "Name" is `full_name`, except next to a first-name column without a last-name column
   ("Vorname, Name"), where it is the family name.
4. Identifier by value: the e-mail and phone columns csvfile found from their values.
5. Anything else is an ignored column.

The primary identifier is an identifier column of the first kind in `KINDS` order (e-mail,
phone, cookie, external id, social) that has one, preferring a column not named as a second
one ("Other", "Alt", "Secondary", "Email 2"...), then the first in the file. Every other
identifier column is an alias of its kind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from domain.field_names import FIELD_NAMES, WEAK_NAMES
from domain.fields import FIELD_DESCRIPTIONS
from domain.identifiers import KINDS, IdentifierKind

Words = tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    """The suggested mappings of one file; ``as_dict`` is what the preview answers."""

    primary: tuple[str, IdentifierKind] | None  # (column, kind)
    field_mappings: dict[str, str]  # column -> canonical profile field
    alias_mappings: dict[str, str]  # column -> "_alias_<kind>"
    ignored_columns: list[str]

    def as_dict(self) -> dict[str, Any]:
        primary = None
        if self.primary is not None:
            primary = {"column": self.primary[0], "kind": self.primary[1]}
        return {
            "primary_identifier": primary,
            "field_mappings": dict(self.field_mappings),
            "alias_mappings": dict(self.alias_mappings),
            "ignored_columns": list(self.ignored_columns),
        }


# --- reading a header as words ---------------------------------------------------------------

_CAMEL: Final = re.compile(
    r"(?<=[a-z\u00df-\u00ff])(?=[A-Z\u00c0-\u00de])|(?<=[A-Z])(?=[A-Z][a-z])"
)
_NUMBER_SIGN: Final = re.compile(r"[#№]|\b[Nn][°º]")
_TOKEN: Final = re.compile(r"[^\W\d_]+|\d+")


def words(header: str) -> Words:
    """Lower-case, accent-free words of a header: "MailingPostalCode" -> ("mailing", "postal",
    "code"); "E-mail 2 Address" -> ("e", "mail", "2", "address"); "N° client" -> ("number",
    "client"); "Straße" -> ("strasse",)."""
    text = _NUMBER_SIGN.sub(" number ", header)
    text = _CAMEL.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return tuple(_TOKEN.findall(text))


# --- identifiers by name ---------------------------------------------------------------------

_EMAIL_WORDS: Final = frozenset(
    {"mail", "courriel", "correo", "emailadresse", "почта", "емеил", "имеил"}
)
_PHONE_WORDS: Final = frozenset(
    {"tel", "telno", "telnr", "cell", "cellular", "mobile", "mob", "handy", "portable",
     "movil", "celular", "gsm", "rufnummer"}
)  # fmt: skip
_PHONE_PREFIXES: Final = ("mobil", "handy", "мобил")
# also inside compounds: Firmentelefon
_PHONE_STEMS: Final = ("phone", "telefon", "telephon", "телефон")
_NETWORKS: Final = ("linkedin", "twitter", "facebook", "instagram", "github", "tiktok", "youtube")
_NETWORK_WORDS: Final = frozenset({"xing", "social", "mastodon", "bluesky"})
_HANDLE_WORDS: Final = frozenset({"handle", "username", "user", "profile", "account"})
_URL_WORDS: Final = frozenset({"url", "uri", "link", "profile", "page", "website", "web", "site"})
_COOKIES: Final = frozenset(
    {"hubspotutk", "utk", "visitorid", "anonymousid", "ajsanonymousid", "gaclientid"}
)
# External ids: a column named by an id word alone ("ID") or with qualifiers that all name the
# lead or a system holding it ("Customer ID", "Record ID", "N° client", "Salesforce ID"). A weak
# id word needs a qualifier ("Customer Number", not "Number").
_STRONG_ID: Final = frozenset(
    {"id", "identifier", "identifiant", "identificador", "uid", "uuid", "guid"}
)
_WEAK_ID: Final = frozenset(
    {"number", "nr", "no", "num", "nummer", "numero", "key", "code", "codigo", "ref",
     "reference", "referenz"}
)  # fmt: skip
_ID_QUALIFIERS: Final = frozenset(
    {"customer", "client", "clients", "cliente", "contact", "contacto", "contato", "kontakt",
     "lead", "record", "external", "externe", "externo", "member", "membership", "mitglied",
     "mitglieds", "person", "user", "crm", "subscriber", "badge", "attendee", "participant",
     "teilnehmer", "registration", "unique", "source", "legacy", "salesforce", "sfdc", "hubspot",
     "hs", "pipedrive", "zoho", "dynamics", "marketo", "kunden", "kunde", "adherent", "de", "du",
     "del", "la", "le"}
)  # fmt: skip
_ID_COMPOUNDS: Final = frozenset(
    {"kunden", "mitglieds", "teilnehmer", "kontakt", "customer", "client", "contact", "lead",
     "member", "user", "record", "person", "subscriber", "badge"}
)  # fmt: skip
_ID_SUFFIXES: Final = ("nummer", "nr", "id")

# Words of a column about an identifier rather than holding one ("Email Opt Out", "Phone
# Type", "Email Domain") or holding someone else's ("Owner Email", "Assistant Phone").
_ABOUT: Final = frozenset(
    {"opt", "optin", "optout", "opted", "consent", "bounce", "bounced", "bounces", "unsubscribed",
     "unsubscribe", "subscribed", "subscription", "status", "type", "date", "count", "valid",
     "invalid", "verified", "validated", "verification", "confirmed", "sent", "opened", "opens",
     "open", "clicked", "clicks", "click", "domain", "campaign", "format", "preference",
     "preferences", "frequency", "score", "rating", "permission", "owner", "assistant",
     "manager", "rep", "representative", "agent", "referrer", "referral", "not", "followers",
     "bio", "photo", "picture", "avatar", "image", "connections", "hash", "hashed", "md", "sha",
     "security"}
)  # fmt: skip
_PHONE_ABOUT: Final = frozenset(
    {"ext", "extension", "durchwahl", "country", "code", "area", "prefix", "vorwahl"}
)
# Identifiers a whole company shares: as an alias it would belong to the first lead only.
_SHARED: Final = frozenset(
    {"company", "account", "organisation", "organization", "org", "firma", "unternehmen",
     "entreprise", "societe", "empresa", "switchboard", "zentrale", "reception", "general",
     "info", "support"}
)  # fmt: skip
_SHARED_PREFIXES: Final = ("firmen", "zentral")
# A second one of its kind: never the suggested primary while another column is not.
_SECONDARY: Final = frozenset(
    {"secondary", "second", "other", "alt", "alternate", "alternative", "additional", "backup",
     "old", "previous", "former", "weitere", "weiteres", "autre", "otro", "otra"}
)  # fmt: skip


def _is_email_name(w: Words, compact: str) -> bool:
    return ("email" in compact and "voicemail" not in compact) or not _EMAIL_WORDS.isdisjoint(w)


def _is_phone_name(w: Words) -> bool:
    return any(
        any(stem in word for stem in _PHONE_STEMS)
        or word in _PHONE_WORDS
        or word.startswith(_PHONE_PREFIXES)
        for word in w
    )


def _is_social_name(w: Words, compact: str) -> bool:
    if any(network in compact for network in _NETWORKS) or not _NETWORK_WORDS.isdisjoint(w):
        return True
    return "x" in w and not _HANDLE_WORDS.isdisjoint(w)  # "X handle", "X username"


def _is_cookie_name(compact: str) -> bool:
    return "cookie" in compact or compact in _COOKIES


def _is_external_id_name(w: Words) -> bool:
    ids = [word for word in w if word in _STRONG_ID or word in _WEAK_ID]
    rest = [word for word in w if word not in _STRONG_ID and word not in _WEAK_ID]
    if not ids:  # German and run-together compounds: Kundennummer, KundenNr, customerid
        return len(w) == 1 and any(
            w[0].endswith(suffix) and w[0][: -len(suffix)] in _ID_COMPOUNDS
            for suffix in _ID_SUFFIXES
        )
    if not rest:
        return any(word in _STRONG_ID for word in ids)
    return all(word in _ID_QUALIFIERS for word in rest)


def _kind_by_name(w: Words, compact: str) -> IdentifierKind | None:
    if _is_email_name(w, compact):
        return "email"
    if _is_phone_name(w):
        return "phone"
    if _is_social_name(w, compact):
        return "social"
    if _is_cookie_name(compact):
        return "cookie"
    if _is_external_id_name(w):
        return "external_id"
    return None


def _is_about(w: Words, compact: str, kind: IdentifierKind) -> bool:
    if not _ABOUT.isdisjoint(w) or "voicemail" in compact:
        return True
    return kind == "phone" and not _PHONE_ABOUT.isdisjoint(w)


def _is_shared(w: Words, compact: str, kind: IdentifierKind) -> bool:
    shared = _SHARED - {"account"} if kind == "social" else _SHARED  # "Twitter Account"
    return not shared.isdisjoint(w) or compact.startswith(_SHARED_PREFIXES)


def _is_secondary(w: Words) -> bool:
    return not _SECONDARY.isdisjoint(w) or any(word.isdigit() and word != "1" for word in w)


def _social_field(w: Words, compact: str) -> str | None:
    """The profile field of a LinkedIn or Twitter column named as a URL or profile."""
    if _URL_WORDS.isdisjoint(w):
        return None
    if "linkedin" in compact:
        return "linkedin_url"
    if "twitter" in compact or "x" in w:
        return "twitter"
    return None


# --- profile fields by name ------------------------------------------------------------------


def _synonyms() -> dict[str, tuple[tuple[str, int], ...]]:
    table: dict[str, list[tuple[str, int]]] = {}
    for field in FIELD_DESCRIPTIONS:
        for name in (field.replace("_", ""), *FIELD_NAMES[field]):
            table.setdefault(name, []).append((field, 0))
    for name, readings in WEAK_NAMES.items():
        table[name] = list(readings)  # instead of the exact reading of a field's own name
    return {name: tuple(readings) for name, readings in table.items()}


_SYNONYMS: Final = _synonyms()
# Words around a field name that do not change it ("Mailing City", "Person - Name"), and those
# that make it a second one ("Other Street"), with the rank each adds.
_NEUTRAL: Final = frozenset(
    {"contact", "contacts", "lead", "leads", "person", "personal", "primary", "main", "mailing",
     "business", "work", "company", "billing", "home", "private", "current", "your", "my",
     "kontakt", "geschaft", "geschaftlich", "geschaftliche", "privat", "principal"}
)  # fmt: skip
_STRIPPED: Final = ((_NEUTRAL, 1), (_NEUTRAL | _SECONDARY | {"shipping"}, 2))


def _strip(w: Words, around: frozenset[str]) -> Words:
    start, end = 0, len(w)
    while start < end and w[start] in around:
        start += 1
    while end > start and w[end - 1] in around:
        end -= 1
    return w[start:end]


def _field_readings(w: Words) -> tuple[tuple[str, int], ...]:
    """(field, rank) readings of a header's words, best first; () when it names no field."""
    exact = _SYNONYMS.get("".join(w))
    if exact:
        return exact
    for around, extra in _STRIPPED:
        core = _strip(w, around)
        if core and core != w and (found := _SYNONYMS.get("".join(core))):
            return tuple((field, rank + extra) for field, rank in found)
    return ()


# --- values ----------------------------------------------------------------------------------

_URL_VALUES: Final = (
    ("linkedin_url", ("linkedin.com/",)),
    ("twitter", ("twitter.com/", "//x.com/", "www.x.com/")),
)


def _field_by_values(values: Sequence[str]) -> str | None:
    """``linkedin_url`` / ``twitter`` when at least 80 % of the non-empty sample values are such
    profile URLs (LinkedIn's own export calls that column "URL")."""
    if not values:
        return None
    for field, markers in _URL_VALUES:
        hits = sum(1 for v in values if any(m in v.lower() for m in markers))
        if hits * 5 >= len(values) * 4:
            return field
    return None


# --- the suggestion --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identifier:
    index: int
    column: str
    kind: IdentifierKind
    secondary: bool


def suggest(
    headers: Sequence[str],
    email_columns: Iterable[str] = (),
    phone_columns: Iterable[str] = (),
    sample_rows: Sequence[Sequence[str]] = (),
) -> Suggestion:
    """The suggested mappings of a file with these ``headers`` (unique names), the e-mail and
    phone columns csvfile detected, and its first data rows (see the module's rules)."""
    emails, phones = set(email_columns), set(phone_columns)
    identifiers: list[_Identifier] = []
    readings: list[tuple[int, int, str]] = []  # (rank, column index, field)
    for index, column in enumerate(headers):
        w = words(column)
        if not w:
            continue
        compact = "".join(w)
        kind = _kind_by_name(w, compact)
        if kind is not None:
            if _is_about(w, compact, kind) or _is_shared(w, compact, kind):
                continue
            field = _social_field(w, compact) if kind == "social" else None
            if field is not None:
                readings.append((0, index, field))
            else:
                identifiers.append(_Identifier(index, column, kind, _is_secondary(w)))
            continue
        if any("fax" in word for word in w):
            continue
        values = [v for v in (_cell(row, index) for row in sample_rows) if v]
        by_values = _field_by_values(values)
        if by_values is not None:
            readings.append((0, index, by_values))
            continue
        found = _field_readings(w)
        if found:
            readings.extend((rank, index, field) for field, rank in found)
        elif (column in emails or column in phones) and not _is_shared(w, compact, "email"):
            kind = "email" if column in emails else "phone"
            identifiers.append(_Identifier(index, column, kind, _is_secondary(w)))

    fields_by_index = _assign(readings)
    _name_as_family_name(headers, fields_by_index)
    primary = _primary(identifiers)
    used = set(fields_by_index) | {i.index for i in identifiers}
    return Suggestion(
        primary=(primary.column, primary.kind) if primary is not None else None,
        field_mappings={headers[i]: fields_by_index[i] for i in sorted(fields_by_index)},
        alias_mappings={i.column: f"_alias_{i.kind}" for i in identifiers if i is not primary},
        ignored_columns=[column for index, column in enumerate(headers) if index not in used],
    )


def _cell(row: Sequence[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _assign(readings: list[tuple[int, int, str]]) -> dict[int, str]:
    """Each field to one column and each column to one field: best rank first, then the first
    column in the file."""
    by_index: dict[int, str] = {}
    taken: set[str] = set()
    for _, index, field in sorted(readings):
        if index not in by_index and field not in taken:
            by_index[index] = field
            taken.add(field)
    return by_index


def _name_as_family_name(headers: Sequence[str], fields_by_index: dict[int, str]) -> None:
    """ "Vorname, Name": a plain "Name" next to a first-name column and no last-name column is
    the family name (German exports), not the whole name."""
    assigned = set(fields_by_index.values())
    if "first_name" not in assigned or "last_name" in assigned:
        return
    for index, field in fields_by_index.items():
        if field == "full_name" and words(headers[index]) == ("name",):
            fields_by_index[index] = "last_name"
            return


def _primary(identifiers: list[_Identifier]) -> _Identifier | None:
    for kind in KINDS:
        candidates = [i for i in identifiers if i.kind == kind]
        if candidates:
            return min(candidates, key=lambda i: (i.secondary, i.index))
    return None
