"""Offline computation: a vote history replayed in bulk, no server."""
