"""Pure rating computation: arrays in, arrays out. No gRPC, sockets or SQL here."""

from engine.board import EloBoard
from engine.elo import EloConfig
from engine.interning import Interner
from engine.outcomes import Outcome
from engine.standings import Standings

__all__ = ["EloBoard", "EloConfig", "Interner", "Outcome", "Standings"]
