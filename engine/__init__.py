"""Pure rating computation: arrays in, arrays out. No gRPC, sockets or SQL here."""

from engine.board import Board
from engine.elo import EloConfig
from engine.interning import Interner
from engine.outcomes import Outcome
from engine.standings import Standings

__all__ = ["Board", "EloConfig", "Interner", "Outcome", "Standings"]
