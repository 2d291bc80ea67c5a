"""Charset detection for uploads neither UTF-8 nor UTF-16 (`domain.encodings.GuessEncoding`).

charset-normalizer ranks the code pages real exports use. Its ranking tells scripts apart
(Cyrillic, Greek, Japanese, Chinese, Korean) but not the Latin code pages: measured on name
lists, it reads Polish Windows-1250 as Windows-1252 and Czech ISO-8859-2 as Windows-1250,
and ties Western text between Windows-1252 and -1250. So the single-byte code pages are then
compared by what their text looks like, word by word (`_misreadings`):

* a word mixing scripts (``Josй``), or changing to upper case inside (``ÈâàÍ``), is misread;
* a Latin word whose accented letters belong to no one language (``Pøíjmení``: ø and í) is
  misread (the letters of each language are in `_LATIN_LETTERS`);
* a symbol inside a word (``Ma³gorzata``), a symbol or currency sign right before a letter
  (``£ukasz``) and a control character are misread.

The code page with the fewest misreadings wins; on a tie, the one whose words are spelt in one
language when the others need several (a Turkish file read as Windows-1250 looks Romanian,
Czech and Croatian at once), then charset-normalizer's mess and language scores, then the
order of `SINGLE_BYTE` (Windows-1252 first: text that reads as well in Windows-1252 as in
another code page is Western). The guess is confident when there were at least `MIN_WORDS`
words with non-ASCII letters, few misreadings, and either something more than that order
decided or the winner is Windows-1252.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import charset_normalizer

from domain.encodings import EncodingGuess

SAMPLE_BYTES = 32 * 1024  # of lines holding non-ASCII bytes: ASCII lines say nothing
MIN_WORDS = 3  # words with non-ASCII letters needed for a confident guess
MIN_MULTI_BYTE_CHARS = 6  # non-ASCII characters needed for a confident multi-byte guess
_CLOSE_CHAOS = 0.05  # a rival this close in charset-normalizer's mess ratio is a tie
_CLEAR_COHERENCE = 0.2  # a lead this large in its language score decides

# Code pages that exports are written in, the most likely first (the tie-break order).
SINGLE_BYTE = (
    "cp1252",  # Western European
    "cp1250",  # Central European
    "iso8859_2",  # Central European, older Unix and web exports
    "cp1251",  # Cyrillic
    "cp1254",  # Turkish
    "cp1257",  # Baltic
    "koi8_r",  # Russian, older Unix exports
    "cp1253",  # Greek
    "cp1255",  # Hebrew
    "cp1256",  # Arabic
    "cp874",  # Thai
)
MULTI_BYTE = ("cp932", "euc_jp", "gb18030", "big5", "cp949")
# A detected code page -> the standard one it extends, named when both read the file alike.
_STANDARD = {"cp932": "shift_jis", "cp949": "euc_kr"}

# The accented letters of each language written in a Latin code page (lower case). A word may
# use the letters of one of them. Icelandic and Faroese are left out on purpose: their þ, ð, ý
# are what Turkish text looks like in Windows-1252.
_LATIN_LETTERS = (
    "äöüßé",  # German
    "àâæçéèêëîïôœùûüÿ",  # French
    "áéíñóúü",  # Spanish
    "àçéèíïòóúü",  # Catalan
    "áâãàçéêíóôõú",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "áéèëïóöüú",  # Dutch
    "æøåéó",  # Danish, Norwegian
    "åäöé",  # Swedish
    "åäöšž",  # Finnish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "ąćęłńóśźż",  # Polish
    "áéíóöőúüű",  # Hungarian
    "čćđšž",  # Croatian, Bosnian, Serbian (Latin), Slovene
    "ăâîșțşţ",  # Romanian
    "çğıöşüâîûİ",  # Turkish (İ: "İ".lower() is two characters)
    "äöõüšž",  # Estonian
    "āčēģīķļņšūž",  # Latvian
    "ąčęėįšųūž",  # Lithuanian
    "çë",  # Albanian
)
_LATIN_SETS = tuple(frozenset(letters) for letters in _LATIN_LETTERS)
# Non-letters that may stand right before a letter (opening quotes, dashes, the bullet, the
# ellipsis, the inverted ? and !, the degree sign of °C) or inside a word (apostrophes, the
# Catalan middle dot, hyphens).
_BEFORE_LETTER_OK = frozenset(
    "\u201c\u201e\u2018\u201a\u00ab\u2039\u00bf\u00a1\u2013\u2014\u2022\u2026\u2019\u00b0"
)
_INSIDE_WORD_OK = frozenset("\u2019\u2018\u00b7\u2010\u2011")
_WORD_RE = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class _Reading:
    codec: str
    text: str
    misread: int
    words: int  # words holding a non-ASCII letter
    languages: int  # languages needed to spell them: 0, 1 or 2 (two or more)
    chaos: float
    coherence: float


def guess_encoding(data: bytes) -> EncodingGuess | None:
    """The likely code page of ``data`` (bytes without BOM that are not UTF-8), or None."""
    sample = _sample(data)
    if not sample:
        return None
    scores = _normalizer_scores(sample)
    if scores:
        best = min(scores, key=lambda c: (scores[c][0], -scores[c][1]))
        if best in MULTI_BYTE:
            return _multi_byte(data, sample, best, scores)
    return _single_byte(sample, scores)


def _sample(data: bytes) -> bytes:
    """The lines holding non-ASCII bytes, up to `SAMPLE_BYTES` (cut at a line end)."""
    out = bytearray()
    for line in data.split(b"\n"):
        if not line.isascii():
            out += line + b"\n"
            if len(out) >= SAMPLE_BYTES:
                break
    return bytes(out)


def _normalizer_scores(sample: bytes) -> dict[str, tuple[float, float]]:
    """charset-normalizer's ``(mess ratio, language coherence)`` per code page it kept (code
    pages that read the sample alike share their scores)."""
    scores: dict[str, tuple[float, float]] = {}
    candidates = [*SINGLE_BYTE, *MULTI_BYTE]
    for match in charset_normalizer.from_bytes(sample, cp_isolation=candidates):
        for codec in match.could_be_from_charset:
            if codec in candidates:
                scores.setdefault(codec, (match.chaos, match.coherence))
    return scores


def _decodes(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _multi_byte(
    data: bytes, sample: bytes, codec: str, scores: dict[str, tuple[float, float]]
) -> EncodingGuess:
    text = sample.decode(codec)
    chaos = scores[codec][0]
    rivals = [
        other
        for other, (other_chaos, _) in scores.items()
        if other != codec
        and other_chaos <= chaos + _CLOSE_CHAOS
        and _decodes(sample, other) != text
    ]
    evidence = sum(1 for ch in text if not ch.isascii())
    standard = _STANDARD.get(codec)
    if standard is not None:
        whole = _decodes(data, codec)
        if whole is not None and whole == _decodes(data, standard):
            codec = standard
    return EncodingGuess(codec, confident=not rivals and evidence >= MIN_MULTI_BYTE_CHARS)


def _single_byte(sample: bytes, scores: dict[str, tuple[float, float]]) -> EncodingGuess | None:
    readings = []
    for codec in SINGLE_BYTE:
        text = _decodes(sample, codec)
        if text is None:
            continue
        misread, accented = _misreadings(text)
        chaos, coherence = scores.get(codec, (1.0, 0.0))
        # One language against several is a sign (a Turkish file read as Windows-1250 looks
        # Romanian, Czech and Croatian at once); several against more is not: a list of
        # names from many countries needs many in any code page.
        languages = min(_languages_needed(accented), 2)
        readings.append(_Reading(codec, text, misread, len(accented), languages, chaos, coherence))
    if not readings:
        return None
    order = {codec: i for i, codec in enumerate(SINGLE_BYTE)}

    def rank(r: _Reading) -> tuple[int, int, float, float, int]:
        return (r.misread, r.languages, round(r.chaos, 2), -round(r.coherence, 2), order[r.codec])

    readings.sort(key=rank)
    best = readings[0]
    rivals = [r for r in readings[1:] if r.text != best.text]
    confident = (
        best.words >= MIN_WORDS
        and best.misread * 10 <= best.words
        and (
            best.codec == "cp1252"
            # Hebrew read as KOI8-R is all capitals; real lists write names in mixed case.
            or (not _all_capitals(best.text) and all(_clearly_worse(r, best) for r in rivals))
        )
    )
    return EncodingGuess(best.codec, confident)


def _all_capitals(text: str) -> bool:
    """No lower-case letter among the non-ASCII ones (and some upper-case one)."""
    letters = [ch for ch in text if not ch.isascii() and ch.isalpha()]
    return any(ch.isupper() for ch in letters) and not any(ch.islower() for ch in letters)


def _clearly_worse(rival: _Reading, best: _Reading) -> bool:
    """More misreadings or languages, or clearly worse charset-normalizer scores."""
    return (
        (rival.misread, rival.languages) > (best.misread, best.languages)
        or rival.chaos - best.chaos >= _CLOSE_CHAOS
        or best.coherence - rival.coherence >= _CLEAR_COHERENCE
    )


def _misreadings(text: str) -> tuple[int, list[frozenset[str]]]:
    """``(misread words and symbols, the accented letters of each plausible Latin word holding
    some, and an empty set for each other word holding a non-ASCII letter)`` of a text."""
    misread = 0
    accented: list[frozenset[str]] = []
    for match in _WORD_RE.finditer(text):
        word = match.group()
        if word.isascii():
            continue
        letters = _accented(word)
        if _plausible(word, letters):
            accented.append(letters)
        else:
            accented.append(frozenset())
            misread += 1
    for position, ch in enumerate(text):
        if ch.isascii() or ch.isalpha():
            continue
        category = unicodedata.category(ch)
        if category.startswith("C"):
            misread += 1  # a C1 control or unassigned: no exported text holds one
            continue
        before = position > 0 and text[position - 1].isalpha()
        if category.startswith("M"):
            # A combining mark belongs on a letter of its own script (Thai, Hebrew, Arabic).
            if not (before and not text[position - 1].isascii()):
                misread += 1
            continue
        after = position + 1 < len(text) and text[position + 1].isalpha()
        if (after and before and ch not in _INSIDE_WORD_OK) or (
            after and not before and ch not in _BEFORE_LETTER_OK
        ):
            misread += 1
    return misread, accented


def _accented(word: str) -> frozenset[str]:
    """The non-ASCII letters of a word, in lower case."""
    lowered = (ch.lower() if len(ch.lower()) == 1 else ch for ch in word if not ch.isascii())
    return frozenset(lowered)


def _languages_needed(accented: list[frozenset[str]]) -> int:
    """How many languages of `_LATIN_SETS` spell the given Latin words (a greedy cover);
    0 when none is Latin."""
    remaining = [
        letters for letters in accented if letters and _script(next(iter(letters))) == "LATIN"
    ]
    needed = 0
    while remaining:
        best = max(_LATIN_SETS, key=lambda lang: sum(1 for w in remaining if w <= lang))
        covered = [w for w in remaining if w <= best]
        if not covered:
            return needed + len(remaining)
        remaining = [w for w in remaining if not w <= best]
        needed += 1
    return needed


def _plausible(word: str, accented: frozenset[str]) -> bool:
    """One script, no upper case after lower case among its non-ASCII letters, and (Latin)
    the accented letters of one language."""
    scripts = {_script(ch) for ch in word}
    if len(scripts) > 1:
        return False
    seen_lower = False
    for ch in word:
        if ch.islower():
            seen_lower = True
        elif ch.isupper() and seen_lower and not ch.isascii():
            return False
    if scripts != {"LATIN"}:
        return True
    return any(accented <= letters for letters in _LATIN_SETS)


def _script(ch: str) -> str:
    """The script of a letter: the first word of its Unicode name (LATIN, CYRILLIC, GREEK...)."""
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"
