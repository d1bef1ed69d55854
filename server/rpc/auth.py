"""Bearer tokens with scopes.

A call carries ``authorization: Bearer <token>`` in its metadata. Each
configured token has a name, scopes and an optional expiry; the server keeps
only its SHA-256 digest and compares digests in constant time
(``hmac.compare_digest`` against every entry, so timing says nothing about
which entry came close).

Scopes (independent; give a token every scope it needs):
  read   queries: GetLeaderboard, GetHeadToHead, GetHeadToHeadMatrix,
         WatchLeaderboard, ListBoards, ListSnapshots, ListCompetitors, SuggestPairs
  write  ingest: SubmitVotes, StreamVotes, SubmitRanking
  admin  ReplayVotes, UpsertCompetitors, CreateSnapshot, DeleteBoard
Health checks and server reflection need no token.

Token files (``serve --tokens FILE``) and the ``ARENA_RATINGS_TOKENS``
environment variable hold the same JSON:
  {"tokens": [{"name": "ingest-eu", "sha256": "<hex digest of the token>",
               "scopes": ["write"], "expires": "2027-01-01T00:00:00Z"}]}
or JSON Lines, one entry a line: ``arena-ratings token create`` makes a token
and prints its entry as one line, so ``token create ... >> tokens.jsonl``
builds a file ``serve --tokens tokens.jsonl`` reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server.domain.errors import PermissionDenied, Unauthenticated

SCOPES = ("read", "write", "admin")
ENVIRONMENT_VARIABLE = "ARENA_RATINGS_TOKENS"
SERVICE_PREFIX = "/arena_ratings.v1.Ratings/"
METHOD_SCOPES = {
    "GetLeaderboard": "read",
    "GetHeadToHead": "read",
    "GetHeadToHeadMatrix": "read",
    "WatchLeaderboard": "read",
    "ListBoards": "read",
    "ListSnapshots": "read",
    "ListCompetitors": "read",
    "GetAudit": "read",
    "SubmitVotes": "write",
    "StreamVotes": "write",
    "SubmitRanking": "write",
    "ReplayVotes": "admin",
    "UpsertCompetitors": "admin",
    "CreateSnapshot": "admin",
    "DeleteBoard": "admin",
    "SuggestPairs": "read",
}


@dataclass(frozen=True)
class Token:
    name: str
    digest: bytes  # SHA-256 of the token
    scopes: frozenset[str]
    expires: float | None = None  # Unix seconds

    def as_json(self) -> dict:
        entry = {"name": self.name, "sha256": self.digest.hex(), "scopes": sorted(self.scopes)}
        if self.expires is not None:
            entry["expires"] = datetime.fromtimestamp(self.expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return entry


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenBook:
    """The configured tokens; ``check`` answers who a call is and whether it may proceed."""

    def __init__(self, tokens: Iterable[Token]) -> None:
        self.tokens = list(tokens)
        if not self.tokens:
            raise ValueError("a token book needs at least one token")

    def check(self, authorization: str | None, scope: str, now: float | None = None) -> Token:
        """The token behind an ``authorization`` header, if it holds ``scope``; raises otherwise."""
        if not authorization:
            raise Unauthenticated("no token: send 'authorization: Bearer <token>' metadata")
        kind, _, value = authorization.partition(" ")
        if kind.lower() != "bearer" or not value.strip():
            raise Unauthenticated("the authorization metadata must be 'Bearer <token>'")
        presented = digest(value.strip())
        found = None
        for token in self.tokens:  # every entry, always: constant time in which one matches
            if hmac.compare_digest(token.digest, presented):
                found = token
        if found is None:
            raise Unauthenticated("unknown token")
        if found.expires is not None and (now if now is not None else time.time()) >= found.expires:
            raise Unauthenticated(f"token {found.name!r} expired")
        if scope not in found.scopes:
            has = ", ".join(sorted(found.scopes))
            raise PermissionDenied(f"token {found.name!r} lacks the {scope!r} scope (it has: {has})")
        return found


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> TokenBook | None:
    """Tokens from ``path`` and the environment variable (``environ``: os.environ unless given), or
    None when neither gives any."""
    if environ is None:
        environ = os.environ
    tokens: list[Token] = []
    if path is not None:
        try:
            tokens += parse(Path(path).read_text(), str(path))
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the token file: {exc}") from exc
    if environ.get(ENVIRONMENT_VARIABLE):
        tokens += parse(environ[ENVIRONMENT_VARIABLE], f"${ENVIRONMENT_VARIABLE}")
    return TokenBook(tokens) if tokens else None


def _entries(text: str, source: str) -> list[tuple[str, object]]:
    """(where, entry) from a ``{"tokens": [...]}`` document or from JSON Lines, one entry a line
    (what ``token create >> FILE`` appends)."""
    expected = f'{source}: expected {{"tokens": [{{"name", "sha256", "scopes"}}, ...]}} or one such entry a line'
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # not one JSON value: JSON Lines
    if isinstance(document, dict) and "tokens" in document:
        if not isinstance(document["tokens"], list):
            raise ValueError(f"{expected}: tokens is not a list")
        return [(f"{source}: tokens[{i}]", entry) for i, entry in enumerate(document["tokens"])]
    if document is not None and not (isinstance(document, dict) and "sha256" in document):
        raise ValueError(f"{expected}: found neither")
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((f"{source}: line {number}", json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{expected}: line {number}: {exc}") from exc
    if not entries:
        raise ValueError(f"{expected}: it holds no entry")
    return entries


def parse(text: str, source: str) -> list[Token]:
    tokens = []
    for i, (where, entry) in enumerate(_entries(text, source)):
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"an entry must be a JSON object, not {type(entry).__name__}")
            raw = bytes.fromhex(entry["sha256"])
            scopes = frozenset(entry["scopes"])
            name = str(entry.get("name") or f"token-{i}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: needs sha256 (hex) and scopes: {exc}") from exc
        if len(raw) != 32:
            raise ValueError(f"{where}: sha256 must be 64 hex digits (the token itself is never stored)")
        unknown = scopes - set(SCOPES)
        if unknown or not scopes:
            raise ValueError(f"{where}: scopes must be some of {', '.join(SCOPES)}, got {sorted(scopes)}")
        expires = entry.get("expires")
        if expires is not None:
            try:
                moment = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValueError(f"{where}: expires must be an ISO time, e.g. 2027-01-01T00:00:00Z") from exc
            expires = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        tokens.append(Token(name, raw, scopes, expires))
    return tokens


def create(name: str, scopes: Iterable[str], expires: float | None = None) -> tuple[str, Token]:
    """A new random token (shown once) and its book entry."""
    scopes = frozenset(scopes)
    if not scopes or scopes - set(SCOPES):
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}")
    value = secrets.token_urlsafe(32)
    return value, Token(name, digest(value), scopes, expires)
