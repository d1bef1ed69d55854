"""Bulk recompute on a Ray cluster: ``arena-ratings replay/export --ray auto|ADDRESS``.

The same replay as ``server.offline.replay``, with its expensive, embarrassingly parallel parts run as
Ray tasks, and the same output (Elo bit for bit; fits to their tolerance):

- ``cluster``: joining a cluster (or starting a local one) and the errors when that fails;
- ``reading``: vote files read by the workers, one task a file, gathered in file order;
- ``elo_shards``: the online-Elo bootstrap, one task per range of replicas, each applying every vote;
- ``rounds``: BT, tie-model, clustered and style-control bootstrap rounds, in blocks of rounds per task;
- ``categories``: category views, one task each;
- ``progress``: the driver's progress bars, fed from the tasks;
- ``replay``: the orchestration, which the CLI calls.

Ray is an optional extra (``pip install ".[ray]"``): nothing outside this package imports it, and the
service never does.
"""
