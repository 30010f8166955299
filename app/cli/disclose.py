"""The CLI side of a disclosure: ``-o FILE`` and ``--purpose``, the purpose
asked for on a terminal, and release through :mod:`app.services.disclosure`.

A command's output on the terminal is a consultation (audited by its
service, naming the cases shown); written with ``-o`` it is a disclosure:
export permission, purpose, and the event before the file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from app.cli.base import write_human
from app.services import disclosure
from app.services.context import ServiceContext


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (a disclosure: needs the export permission and a "
                             "purpose; the file is readable by you only)")
    add_purpose_option(parser)


def add_purpose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--purpose", metavar="TEXT",
                        help="why the data leaves Vigil (asked for on a terminal when not given)")


def purpose_of(args: argparse.Namespace, kind: str) -> str:
    """``--purpose``, or asked on a terminal; exit 2 when neither."""
    given = getattr(args, "purpose", None)
    if given is not None:
        return disclosure.require_purpose(given, kind)
    if sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty():
        print(f"Disclosing {kind} outside Vigil: the purpose is recorded with who and when.",
              file=sys.stderr)
        try:
            answer = input("Purpose: ")
        except EOFError:
            answer = ""
        return disclosure.require_purpose(answer, kind)
    return disclosure.require_purpose(None, kind)


def quiet_broken_stdout() -> None:
    """After the reader closed standard output: point it at /dev/null so the
    interpreter's last flush does not fail."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


def emit_or_disclose(ctx: ServiceContext, args: argparse.Namespace, *, kind: str, text: str,
                     filter: str, crime_refs: Sequence[str], rows: int) -> int:
    """Standard output (a view, already audited by the service) or, with
    ``-o``, a disclosure of the same text."""
    output = getattr(args, "output", None)
    fmt = getattr(args, "format", None) or "table"
    if not output:
        try:
            write_human(text)
        except BrokenPipeError:
            quiet_broken_stdout()
        return 0
    purpose = purpose_of(args, kind)
    done = disclosure.disclose_text(ctx, kind=kind, fmt=fmt, text=text, target=output,
                                    purpose=purpose, filter=filter, crime_refs=crime_refs,
                                    rows=rows)
    print(f"wrote {done.disclosure.target} ({rows:,} rows; disclosure logged)", file=sys.stderr)
    return 0


