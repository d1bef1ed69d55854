"""The running service: the writer, the applier, board versions, standings, snapshots, watches."""
