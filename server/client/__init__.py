"""The client side: the Python client, a server launcher for tools and tests, the load generator."""

from server.client.ratings_client import RatingsClient, open_channel

__all__ = ["RatingsClient", "open_channel"]
