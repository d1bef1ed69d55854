"""The ``arena-ratings`` command line."""

from server.cli.main import main

__all__ = ["main"]
