"""Competitor metadata: display name, organization, license, open weights, status, links.

Metadata is keyed by the name votes use and is global (not per board).
A competitor without metadata is ACTIVE with nothing else known.
Deprecated and unavailable competitors keep their votes and ratings; the
leaderboard leaves them out unless a query asks for them (server.domain.listing).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from server.domain import names
from server.domain.errors import InvalidArgument
from server.domain.limits import Limits

STATUSES = ("active", "deprecated", "unavailable")
MAX_LINKS = 16


@dataclass(frozen=True)
class CompetitorInfo:
    name: str
    display_name: str = ""  # empty: show the name
    organization: str = ""
    license: str = ""
    open_weights: bool | None = None  # None: not known
    status: str = "active"
    links: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The stored form (without the name, which is the key)."""
        return {
            "display_name": self.display_name,
            "organization": self.organization,
            "license": self.license,
            "open_weights": self.open_weights,
            "status": self.status,
            "links": dict(self.links),
        }

    @classmethod
    def from_json(cls, name: str, meta: dict) -> CompetitorInfo:
        return cls(name=name, **meta)


@dataclass(frozen=True)
class CompetitorUpdate:
    """An upsert: None leaves a field unchanged; links are merged, "" removes one."""

    name: str
    display_name: str | None = None
    organization: str | None = None
    license: str | None = None
    open_weights: bool | None = None
    status: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    def applied_to(self, current: CompetitorInfo | None) -> CompetitorInfo:
        info = current or CompetitorInfo(self.name)
        changes = {
            key: value
            for key in ("display_name", "organization", "license", "open_weights", "status")
            if (value := getattr(self, key)) is not None
        }
        links = {**info.links, **self.links}
        return replace(info, **changes, links={k: v for k, v in links.items() if v})


def validate_updates(updates: list[CompetitorUpdate], limits: Limits) -> None:
    """Raise InvalidArgument naming the first bad field; names are replaced by their NFC form in place."""
    if not updates:
        raise InvalidArgument("competitors", "the request lists no competitors")
    if len(updates) > limits.max_batch_votes:
        raise InvalidArgument("competitors", f"{len(updates)} competitors, the limit is {limits.max_batch_votes}")
    seen: set[str] = set()
    for i, update in enumerate(updates):
        where = f"competitors[{i}]"
        updates[i] = update = replace(update, name=names.checked(update.name, f"{where}.name", limits.max_name_length))
        if update.name in seen:
            raise InvalidArgument(f"{where}.name", f"{update.name!r} is listed twice")
        seen.add(update.name)
        for key in ("name", "display_name", "organization", "license"):
            value = getattr(update, key)
            if value is not None and len(value) > limits.max_name_length:
                raise InvalidArgument(
                    f"{where}.{key}", f"is {len(value)} characters, the limit is {limits.max_name_length}"
                )
        if update.status is not None and update.status not in STATUSES:
            raise InvalidArgument(f"{where}.status", f"{update.status!r} is not a status ({', '.join(STATUSES)})")
        if len(update.links) > MAX_LINKS:
            raise InvalidArgument(f"{where}.links", f"{len(update.links)} links, the limit is {MAX_LINKS}")
        for key, value in update.links.items():
            if not key or len(key) > limits.max_name_length or len(value) > 4 * limits.max_name_length:
                raise InvalidArgument(f"{where}.links[{key!r}]", "empty key, or key or URL too long")
