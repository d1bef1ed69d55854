"""The one rule for names: competitors, tags, voters, boards, snapshots, style features.

A name is a key: two clients that mean the same competitor must send the
same string, and a name must print as what it is. So, in this order:

1. Unicode NFC normalisation: "café" typed as e + U+0301 (NFD) and as
   U+00E9 (NFC) is one competitor. The normalised form is what is stored.
2. Refused anywhere: control characters (Unicode category Cc: NUL, BEL,
   tab, newline, DEL, C1 controls) and the bidirectional embedding,
   override and isolate controls (U+202A..U+202E, U+2066..U+2069), which
   make a name display as something else.
3. Refused at either end: whitespace and invisible format characters
   (category Cf, e.g. U+200B zero width space, U+FEFF). Not stripped: a
   client's key must mean one thing, so " gpt-4" is an error, not "gpt-4".
4. A name that is empty, or only such characters, is empty, and refused.
5. At most ``limit`` characters, counted after normalisation.

Board and snapshot names are stricter still (ASCII patterns below), so the
rule holds for them by construction. Names stored before this rule keep
working: the store is not rewritten, and a stored name that is not NFC
stays its own competitor (new votes naming it in NFD are normalised to NFC).
"""

from __future__ import annotations

import re
import unicodedata

from server.domain.errors import InvalidArgument

BOARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+\-]*")

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def name_problem(name: str, limit: int) -> str | None:
    """Why an already NFC-normalised ``name`` is refused, or None."""
    if name.isascii():  # the common case: no Unicode tables needed
        if not name.strip():
            return "must not be empty"
        bad = next((c for c in name if c < " " or c == "\x7f"), None)
        if bad is not None:
            return f"contains the control character {bad!r}"
        if name[0].isspace() or name[-1].isspace():
            return f"{name!r} starts or ends with whitespace"
    else:
        if all(_is_edge(c) for c in name):
            return "must not be empty (only whitespace or invisible characters)"
        bad = next((c for c in name if c in _BIDI_CONTROLS or unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            return f"contains the control character U+{ord(bad):04X}"
        if _is_edge(name[0]) or _is_edge(name[-1]):
            return f"{name!r} starts or ends with whitespace or an invisible character"
    if len(name) > limit:
        return f"is {len(name)} characters, the limit is {limit}"
    return None


def normalized(name: str) -> str:
    """NFC form (cheap for ASCII, which is always NFC)."""
    if name.isascii() or unicodedata.is_normalized("NFC", name):
        return name
    return unicodedata.normalize("NFC", name)


def checked(name: str, field: str, limit: int) -> str:
    """The NFC form of ``name``, or InvalidArgument naming ``field``."""
    name = normalized(name)
    problem = name_problem(name, limit)
    if problem is not None:
        raise InvalidArgument(field, problem)
    return name


def check_board(board: str, limit: int, field: str = "board") -> None:
    if not BOARD_NAME.fullmatch(board) or len(board) > limit:
        raise InvalidArgument(
            field, f"{board!r} is not a board name (letters, digits, '_', '.', '-'; at most {limit} characters)"
        )


def check_snapshot(name: str, limit: int, field: str = "name") -> None:
    if not SNAPSHOT_NAME.fullmatch(name) or len(name) > limit:
        raise InvalidArgument(
            field,
            f"{name!r} is not a snapshot name (letters, digits, '_', '.', ':', '+', '-'; at most {limit} characters)",
        )
