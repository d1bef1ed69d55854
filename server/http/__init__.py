"""The HTTP/JSON transport: the same RPCs as server/rpc, for browsers and arena websites, and the
published leaderboard page.

A request goes one way: a route (``routes``) reads its path, query or body into the RPC's protobuf
request (``params``, ``bodies``), ``calls.Rpcs`` admits it (the shutdown gate, the token's scope, the
vote rate: the same objects gRPC uses) and hands it to the gRPC servicer's own method, so validation
and the service behind it are one path for both transports; the answer goes back as JSON (the
leaderboard as the published feed). ``events`` streams WatchLeaderboard as Server-Sent Events,
``server`` runs uvicorn on a thread beside the gRPC server, ``app`` assembles the pieces.
"""
