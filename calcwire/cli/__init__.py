"""The ``calcwire`` command line.

:mod:`calcwire.cli.main` builds the parser from one module per command group
(each has ``register(subparsers)``) and turns every error into a one-line
message and an exit status; the commands import what they need (the engine,
gRPC stubs) only when they run, so ``calcwire --help`` stays instant.

- :mod:`calcwire.cli.check`: ``calcwire check FILE`` reads, recomputes and
  compares a workbook in-process, with no servers.
"""
