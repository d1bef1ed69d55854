"""A board's listing thresholds: when a row is preliminary, when it is listed at all.

Its own module so that the listing (server.domain.listing) and the answers that carry the
thresholds (server.domain.results) both import it, and neither imports the other's module back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListingConfig:
    """A board's thresholds, in votes of the competitor on the view shown.

    The defaults flag fewer than 300 votes as preliminary (at LMArena's
    typical ~1 k-8 k votes per model, 300 is where a 95% CI is still
    tens of points wide) and list everyone, so a new board shows its first
    votes; raise ``listed_min_votes`` to keep brand-new models off it.
    """

    preliminary_votes: int = 300
    listed_min_votes: int = 0
