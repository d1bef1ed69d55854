"""Domain types and pure functions: votes, names, ballots, competitors, filters, queries, results, listing.

No gRPC, SQLite or threads here.
"""
