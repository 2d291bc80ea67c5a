"""Encodings: the names a request may use, the charset-detector seam, and strict decoding.

The names are readable ones (WHATWG / IANA labels); each stands for a Python codec. Detection
itself lives outside the domain (``adapters.charset``): the domain only defines what a detector
answers (`EncodingGuess`) and how it is called (`GuessEncoding`).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from domain.errors import InvalidCsv, InvalidRequest

# Readable encoding names (WHATWG / IANA labels, as browsers and editors show them) and the
# Python codec each stands for: what a preview answers, and what a request may name (in any
# case; Python's own names of these codecs, such as "cp1251" or "latin-1", are accepted too).
ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8-sig",  # decodes UTF-8 with or without BOM
    "utf-16": "utf-16",  # with BOM; without one, its byte order is recognised (else LE)
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "windows-1250": "cp1250",  # Central European
    "windows-1251": "cp1251",  # Cyrillic
    "windows-1252": "cp1252",  # Western European
    "windows-1253": "cp1253",  # Greek
    "windows-1254": "cp1254",  # Turkish
    "windows-1255": "cp1255",  # Hebrew
    "windows-1256": "cp1256",  # Arabic
    "windows-1257": "cp1257",  # Baltic
    "windows-1258": "cp1258",  # Vietnamese
    "windows-874": "cp874",  # Thai
    "iso-8859-1": "latin-1",
    "iso-8859-2": "iso8859-2",
    "iso-8859-4": "iso8859-4",
    "iso-8859-5": "iso8859-5",
    "iso-8859-7": "iso8859-7",
    "iso-8859-9": "iso8859-9",
    "iso-8859-13": "iso8859-13",
    "iso-8859-15": "iso8859-15",
    "iso-8859-16": "iso8859-16",
    "koi8-r": "koi8-r",
    "koi8-u": "koi8-u",
    "ibm866": "cp866",  # DOS Cyrillic
    "ibm850": "cp850",  # DOS Western
    "macintosh": "mac-roman",  # Excel for Mac "CSV (Macintosh)"
    "shift_jis": "shift_jis",
    "windows-31j": "cp932",  # Shift_JIS with the Microsoft extensions (①, ㈱, ...)
    "euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "gb18030": "gb18030",  # also reads GB2312 and GBK
    "gbk": "gbk",
    "big5": "big5",
    "big5-hkscs": "big5hkscs",
    "euc-kr": "euc_kr",
    "windows-949": "cp949",  # EUC-KR with the Microsoft extensions (Unified Hangul Code)
}
# Delimiters a request may name, by character or by name.
DELIMITERS: dict[str, str] = {
    ",": ",", ";": ";", "\t": "\t", "|": "|",
    "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|",
}  # fmt: skip
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_SNIFF_BYTES = 8192  # bytes examined to recognise UTF-16 without a BOM
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF16_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be"})


def canonical_codec(codec: str) -> str:
    return codecs.lookup(codec).name


# Python's canonical codec name -> readable name.
_LABELS = {canonical_codec(codec): label for label, codec in ENCODINGS.items()} | {"utf-8": "utf-8"}


def encoding_label(codec: str) -> str:
    """The readable name of a Python codec (``"cp1251"`` -> ``"windows-1251"``, ``"utf-8-sig"``
    -> ``"utf-8"``); a codec outside `ENCODINGS` keeps its Python name."""
    try:
        return _LABELS.get(canonical_codec(codec), codec)
    except LookupError:
        return codec


def codec_for(name: str) -> str:
    """The Python codec a request's ``encoding`` names: a readable name of `ENCODINGS` in any
    case, or a Python name of one of their codecs. `InvalidRequest` listing the names else."""
    key = name.strip().lower()
    if key in ENCODINGS:
        return ENCODINGS[key]
    label = None
    if 0 < len(key) <= 40 and key.isprintable():
        try:
            label = _LABELS.get(canonical_codec(key))
        except (LookupError, ValueError):
            label = None
    if label is None:
        raise InvalidRequest(
            f"encoding {name[:60]!r} is not supported. Use one of: {', '.join(ENCODINGS)} "
            "(or leave it out to detect the encoding)."
        )
    return ENCODINGS[label]


def delimiter_for(name: str) -> str:
    """The delimiter a request names: ``,`` ``;`` tab ``|``, or comma, semicolon, tab, pipe."""
    if name in DELIMITERS:
        return DELIMITERS[name]
    key = name.strip().lower()
    if key in DELIMITERS:
        return DELIMITERS[key]
    raise InvalidRequest(
        f'delimiter {name[:20]!r} is not supported. Use one of: "," (or comma), ";" '
        '(or semicolon), a tab character (or tab), "|" (or pipe); or leave it out to detect it.'
    )


@dataclass(frozen=True)
class EncodingGuess:
    """What a charset detector makes of bytes that are neither UTF-8 nor UTF-16."""

    codec: str  # a Python codec name
    confident: bool  # False: too little evidence (a short file, few non-ASCII letters)


# Guesses the encoding of raw bytes (no BOM, not UTF-8); None when it has no idea. The domain
# decodes strictly with the guess and falls back to Windows-1252.
GuessEncoding = Callable[[bytes], EncodingGuess | None]
# How the encoding was chosen: named by the request, declared by a byte order mark, recognised
# from the content, or a best guess from too little evidence.
EncodingSource = Literal["requested", "bom", "detected", "guessed"]


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` for UTF-16 text without a BOM, else None.

    CSV text is full of ASCII (delimiters, line ends, digits, e-mail addresses), which UTF-16
    writes with a NUL high byte: in the first 8 KB, at least one pair in ten has its NUL on
    one side (odd positions: LE, even: BE) and the other side has at most a tenth as many (a
    few CJK characters such as U+3000 have a NUL low byte). Binary data does not look so.
    """
    sample = data[:UTF16_SNIFF_BYTES]
    pairs = len(sample) // 2
    if len(data) % 2 or pairs < 2:
        return None
    even = sample[0 : 2 * pairs : 2].count(0)
    odd = sample[1 : 2 * pairs : 2].count(0)
    major, minor = max(even, odd), min(even, odd)
    if major * 10 < pairs or minor * 10 > major:
        return None
    return "utf-16-le" if odd > even else "utf-16-be"


def decode(
    data: bytes, requested: str | None, guess_encoding: GuessEncoding | None
) -> tuple[str, str, EncodingSource]:
    """Decode strictly: ``(text, codec, how it was chosen)``; `InvalidCsv` when impossible."""
    if requested is not None:
        codec = requested
        if canonical_codec(codec) == "utf-16" and not data.startswith(UTF16_BOMS):
            codec = utf16_without_bom(data) or "utf-16-le"
        try:
            return data.decode(codec), codec, "requested"
        except UnicodeDecodeError as exc:
            raise _requesteddecode_error(exc, codec) from exc
    declared: tuple[str, EncodingSource] | None = None
    if data.startswith(UTF16_BOMS):
        declared = ("utf-16", "bom")
    elif data.startswith(UTF8_BOM):
        # A UTF-8 BOM declares the encoding: falling back to cp1252 would show "ï»¿".
        declared = ("utf-8-sig", "bom")
    elif (utf16 := utf16_without_bom(data)) is not None:
        declared = (utf16, "detected")  # nothing else has NUL bytes in that pattern
    if declared is not None:
        codec, source = declared
        try:
            return data.decode(codec), codec, source
        except UnicodeDecodeError as exc:
            raise decode_error(exc) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8-sig", "detected"
    except UnicodeDecodeError:
        pass
    guess = guess_encoding(data) if guess_encoding is not None else None
    if guess is not None and guess.confident:
        try:
            return data.decode(guess.codec), guess.codec, "detected"
        except (UnicodeDecodeError, LookupError):
            pass  # the detector looked at a sample; the whole file says otherwise
    try:
        return data.decode("cp1252"), "cp1252", "guessed"
    except UnicodeDecodeError as exc:
        # cp1252's complaint points at a byte that no candidate accepts (e.g. 0x81), whereas
        # UTF-8 would point at a harmless "ü".
        raise _undetected_error(exc, guess.codec if guess is not None else None) from exc


def decode_error(exc: UnicodeDecodeError) -> InvalidCsv:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return InvalidCsv(
        f"The file could not be decoded as text (byte 0x{bad} at position {exc.start} does "
        f"not fit its encoding, {encoding_label(exc.encoding)}). Open it in your spreadsheet "
        'program or text editor, save it as UTF-8 (for example "CSV UTF-8"), and upload it '
        "again."
    )


def _undetected_error(exc: UnicodeDecodeError, hint: str | None) -> InvalidCsv:
    bad = exc.object[exc.start : exc.start + 1].hex()
    maybe = ""
    if hint is not None:
        label = encoding_label(hint)
        maybe = f" It may be {label}: send encoding={label} to read it so."
    return InvalidCsv(
        f"The file could not be decoded as text (byte 0x{bad} at position {exc.start} is not "
        "valid UTF-8 or Windows-1252, and there is too little text to recognise another "
        f"encoding).{maybe} Send the file's encoding in the `encoding` field (for example "
        "windows-1251 or shift_jis), or open it in your spreadsheet program or text editor, "
        'save it as UTF-8 (for example "CSV UTF-8") and upload it again.'
    )


def _requesteddecode_error(exc: UnicodeDecodeError, codec: str) -> InvalidCsv:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return InvalidCsv(
        f"The file could not be decoded as {encoding_label(codec)}: byte 0x{bad} at position "
        f"{exc.start} is not valid in that encoding. Send the encoding the file was saved in, "
        "or leave `encoding` out to detect it."
    )
