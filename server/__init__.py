"""The arena-ratings gRPC service, its durable store, the CLI and the Python client."""
