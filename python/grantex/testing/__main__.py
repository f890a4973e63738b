"""``python -m grantex.testing serve``: the local Grantex server in the foreground.

Prints ``Grantex test server listening on http://127.0.0.1:PORT`` on stdout (exactly one
line, flushed: scripts wait for it), the API key and hints on stderr, then serves until
Ctrl-C (SIGINT) or SIGTERM, stops cleanly and exits 0. Exit status 2 for bad arguments or a
bad fixture, 1 when the port cannot be bound.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grantex.testing import RateLimitsName

_RATE_LIMITS = ("hosted", "generous", "off")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grantex.testing",
        description="The local Grantex server (anomalies API) for tests and demos.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve",
        help="run the server in the foreground until Ctrl-C",
        description="Run the local Grantex server on 127.0.0.1 until Ctrl-C or SIGTERM.",
    )
    serve.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free port)"
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="accept any bearer key, each its own account, seeded on first use with "
        "activity that trips all four detection rules",
    )
    serve.add_argument(
        "--fixture",
        metavar="FILE",
        help='load a JSON fixture {"auditEntries": [...], "grants": [...]} into the '
        "default account",
    )
    serve.add_argument(
        "--api-key",
        metavar="KEY",
        action="append",
        default=[],
        help="a known key; the first is the default account's (default: generated). "
        "May be repeated",
    )
    serve.add_argument(
        "--rate-limits",
        choices=_RATE_LIMITS,
        default=None,
        help="hosted (100/min per account, 30/min detect; the default), generous "
        "(1,000,000/min; the default with --demo) or off",
    )
    serve.add_argument(
        "--header-read-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection that has not sent a request's headers within this long "
        "(default 10)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=72.0,
        metavar="SECONDS",
        help="close a kept-alive connection idle this long (default 72)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=256,
        metavar="N",
        help="connections open at once; more wait (default 256)",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from grantex.testing import GrantexTestServer

    if not 0 <= args.port <= 65535:
        print(f"grantex.testing: --port {args.port} is not a port (0-65535)", file=sys.stderr)
        return 2
    fixture_text = None
    if args.fixture is not None:
        try:
            with open(args.fixture, encoding="utf-8") as file:
                fixture_text = file.read()
        except OSError as error:
            print(f"grantex.testing: cannot read fixture {args.fixture}: {error}", file=sys.stderr)
            return 2
    rate_limits: RateLimitsName = args.rate_limits or ("generous" if args.demo else "hosted")
    keys: list[str] = args.api_key
    try:
        server = GrantexTestServer(
            port=args.port,
            demo=args.demo,
            api_key=keys[0] if keys else None,
            rate_limits=rate_limits,
            header_read_timeout=args.header_read_timeout,
            idle_timeout=args.idle_timeout,
            max_connections=args.max_connections,
        )
    except (OSError, ValueError) as error:
        print(f"grantex.testing: {error}", file=sys.stderr)
        return 1 if isinstance(error, OSError) else 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Ctrl-C and SIGTERM only set the event: the main thread waits on it in short steps,
    # so the handlers run promptly, and the server is stopped below, outside the handler.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for key in keys[1:]:
            server.add_api_key(key)
        if fixture_text is not None:
            import json

            try:
                audit_entries, grants = server.load_fixture(json.loads(fixture_text))
            except ValueError as error:
                print(f"grantex.testing: fixture {args.fixture}: {error}", file=sys.stderr)
                return 2
            print(
                f"Loaded fixture: {audit_entries} audit entries, {grants} grants",
                file=sys.stderr,
            )
        print(f"API key: {server.api_key}", file=sys.stderr)
        if args.demo:
            print(
                "Demo mode: any bearer key is accepted (each its own account, seeded on first use)",
                file=sys.stderr,
            )
        print(f"Rate limits: {rate_limits}", file=sys.stderr)
        sys.stderr.flush()
        print(f"Grantex test server listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
        print("Shutting down", file=sys.stderr, flush=True)
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # pragma: no cover (argparse rejects other commands)


if __name__ == "__main__":
    sys.exit(main())
