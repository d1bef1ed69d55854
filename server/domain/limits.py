"""Input limits, with their defaults. One place, so docs and checks agree."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BOARD = "default"


@dataclass(frozen=True)
class Limits:
    max_batch_votes: int = 10_000
    max_name_length: int = 256  # competitor names, vote ids, voter ids, tags
    max_board_length: int = 64
    max_tags_per_vote: int = 32
    max_message_bytes: int = 16 * 1024 * 1024
