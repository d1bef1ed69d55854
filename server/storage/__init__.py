"""Storage: the SQLite vote log, checkpoint and snapshot files, the data-directory lock."""
