"""The event store's transcoder: the library's JSON format, written and read with orjson.

Stored states stay exactly what ``eventsourcing``'s ``JSONTranscoder`` reads and writes: plain
JSON, with values of registered types (datetimes, UUIDs, decimals) written as
``{"_type_": name, "_data_": encoded}``. Events stored before this transcoder existed read the
same, and a ``JSONTranscoder`` reads what this one writes. It is several times faster: the
library's decoder calls a Python hook for every JSON object, this one only looks at the objects
that can be registered values.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

# orjson writes UUIDs as plain strings and has no option to hand them to ``default``: an output
# holding a string of exactly that shape is written again by the library's encoder, which tags
# real UUIDs (a string that only looks like one costs time, not correctness). This project's
# events hold no UUIDs in their state (lead ids in row outcomes are hex).
# (Written from its first "-": a literal start lets the regex engine skip ahead, 5x faster.)
_UUID_STRING = re.compile(rb'-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')
_TYPE_KEY = b'"_type_":'  # how every tagged value starts, whichever encoder wrote it
# orjson reads integers beyond 64 bits back as floats, so they are not stored at all.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_CONTAINERS = (dict, list)


class OrjsonTranscoder(JSONTranscoder):
    """``JSONTranscoder``'s stored format through orjson (see the module docstring).

    Differences: integers beyond 64 bits are refused (orjson would read them back as floats),
    and a float NaN or infinity is stored as ``null`` (JSON has no such values; the library's
    encoder writes non-standard ``NaN``). No event of this project has either.
    """

    def encode(self, obj: Any) -> bytes:
        try:
            data = orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)
        except TypeError:
            # What orjson refuses: non-string keys (the library writes them as strings) and
            # integers beyond 64 bits (refused here too: they would not read back as integers).
            data = super().encode(obj)
            if _LONG_DIGITS.search(data) and _has_big_int(obj):
                raise TypeError("integers beyond 64 bits cannot be stored") from None
            return data
        if _UUID_STRING.search(data):
            return super().encode(obj)
        return data

    def decode(self, data: bytes) -> Any:
        obj = orjson.loads(data)
        tags = data.count(_TYPE_KEY)
        if not tags:
            return obj
        if type(obj) is dict:
            # The common case: every tag is a top-level value holding plain data (an event's
            # timestamp). Anything else takes the full walk, which is the library's decoder.
            if tags == 1 and _is_plain_tag(obj.get("timestamp")):
                obj["timestamp"] = self._decode_obj(obj["timestamp"])
                return obj
            top = [k for k, v in obj.items() if _is_plain_tag(v)]
            if len(top) == tags:
                for k in top:
                    obj[k] = self._decode_obj(obj[k])
                return obj
        return self._walk(obj)

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        """A tagged value of a registered type, decoded; any other dict as it is.

        The library's decoder raises on a ``{"_type_": x, "_data_": y}`` whose ``x`` names no
        registered type. Such a dict can only be data: an event of version 1 of ``JobQueued``
        stored the user's column names as keys (a file with columns ``_type_`` and ``_data_``
        made one), and refusing to read it stopped the relay for every OU. Read as a plain
        dict, it is upcast like any other."""
        if len(d) == 2:
            name = d.get("_type_")
            if type(name) is str and "_data_" in d and name in self.names:
                return self.names[name].decode(d["_data_"])
        return d

    def _walk(self, obj: Any) -> Any:
        """What the library's ``object_hook`` does: decode every object, innermost first."""
        if type(obj) is dict:
            for k, v in obj.items():
                if type(v) in _CONTAINERS:
                    obj[k] = self._walk(v)
            return self._decode_obj(obj)
        if type(obj) is list:
            for i, v in enumerate(obj):
                if type(v) in _CONTAINERS:
                    obj[i] = self._walk(v)
        return obj


# Datetimes (and dates, times) go to ``default`` and are tagged like the library does.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _is_plain_tag(value: Any) -> bool:
    """A tagged value whose data is no container (so holds no tag of its own)."""
    return (
        type(value) is dict
        and len(value) == 2
        and "_type_" in value
        and type(value.get("_data_", [])) not in _CONTAINERS
    )


def _has_big_int(obj: Any) -> bool:
    if type(obj) is int:
        return not -(2**63) <= obj < 2**64
    if isinstance(obj, dict):
        return any(_has_big_int(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_has_big_int(v) for v in obj)
    return False
