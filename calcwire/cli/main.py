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

#: Modules that each add a command (or a group of them) with ``register(subparsers)``.
COMMAND_MODULES: Final = ("calcwire.cli.check", "calcwire.cli.admin")

#: Exit status for input calcwire cannot use (unreadable file, bad option value).
EXIT_ERROR: Final = 2
#: Exit status for a failure of calcwire itself (a bug), or of a service or database it
#: needs (unreachable, failing): reported in one line, no traceback.
EXIT_INTERNAL: Final = 3


class _CommandModule(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calcwire",
        description="Recompute the formulas of Excel workbooks and report where the values "
                    "Excel saved are wrong.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module: _CommandModule = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (the console script exits with it)."""
    parser = build_parser()
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
