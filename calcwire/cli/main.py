"""``calcwire``: the entry point; commands live in one module per command group."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final, Protocol

from calcwire.errors import CalcwireError, Unavailable

__all__ = ["EXIT_ERROR", "EXIT_INTERNAL", "build_parser", "main"]

#: The module that adds each command (or group of them) with ``register(subparsers)``.
#: Only the module of the command being run is imported (``calcwire check`` need not
#: load the database driver the admin commands use); help and errors load them all.
COMMANDS: Final = {
    "check": "calcwire.cli.check",
    "import": "calcwire.cli.importing",
    "models": "calcwire.cli.models",
    "cells": "calcwire.cli.cells",
    "jobs": "calcwire.cli.jobs",
    "calc": "calcwire.cli.calc",
    "admin": "calcwire.cli.admin",
}
COMMAND_MODULES: Final = tuple(dict.fromkeys(COMMANDS.values()))

#: Exit status for input calcwire cannot use (unreadable file, bad option value, unknown
#: model, refused API key): the caller must change something.
EXIT_ERROR: Final = 2
#: Exit status for a failure of calcwire itself (a bug), or of a service or database it
#: needs (unreachable, failing): reported in one line, no traceback; retrying may help.
EXIT_INTERNAL: Final = 3

_EPILOG: Final = """\
The commands import, models, cells, jobs and calc call the gateway: --target (or
CALCWIRE_TARGET, default localhost:50051), --api-key (or CALCWIRE_API_KEY), --tls or
--ca-cert FILE (or CALCWIRE_CA_CERT) for a gateway with TLS; --json prints one JSON
document. Exit status: 0 success; 1 a validation found mismatching cells; 2 a usage
or input error (bad option, unreadable file, unknown model or job, refused API key,
a workbook that cannot be parsed); 3 the services failed or cannot be reached
(UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL...); 130 interrupted. Errors are one line
on stderr ending with their reason, e.g. [NOT_FOUND]."""


class _CommandModule(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        ...


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the arguments, only the module of the command they name is loaded."""
    parser = argparse.ArgumentParser(
        prog="calcwire",
        description="Recompute the formulas of Excel workbooks and report where the values "
                    "Excel saved are wrong.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    needed = COMMANDS.get(words[0]) if words else None
    for name in (needed,) if needed else COMMAND_MODULES:
        module: _CommandModule = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (the console script exits with it)."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except CalcwireError as exc:
        _say(f"calcwire: {exc.message} [{exc.reason}]")
        return EXIT_INTERNAL if isinstance(exc, Unavailable) else EXIT_ERROR
    except KeyboardInterrupt:
        _say("calcwire: interrupted")
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`calcwire check x | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if os.environ.get("CALCWIRE_DEBUG"):
            raise
        detail = " ".join(str(exc).split()) or type(exc).__name__
        _say(f"calcwire: internal error ({type(exc).__name__}): {detail} "
             "(set CALCWIRE_DEBUG=1 for a traceback)")
        return EXIT_INTERNAL
    return status


def _say(line: str) -> None:
    print(line, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
