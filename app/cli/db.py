"""`vigil db upgrade | backup PATH`: schema migrations and online backups."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from app.cli.base import CliEnv, add_action_parser
from app.errors import BadInput

HELP = "database maintenance: upgrade the schema, or make an online backup"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    add_action_parser(actions, "upgrade", "create or migrate the schema to the newest version")
    backup = add_action_parser(actions, "backup", "consistent online copy of an SQLite database")
    backup.add_argument("path", metavar="PATH", help="file to write the copy to")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    settings = env.settings()
    database = env.database(settings)
    if args.db_action == "upgrade":
        database.upgrade()
        print(f"{database.safe_url}: schema up to date", file=sys.stderr)
        return 0
    database.check_reachable()
    target = Path(args.path)
    try:
        if not args.path.strip() or target.is_dir() or (target.exists() and not target.is_file()):
            raise BadInput(f"db backup {args.path[:200]!r}: give the path of a new file")
        database.backup(target)
    except (sqlite3.Error, OSError) as exc:
        raise BadInput(f"db backup {args.path[:200]}: cannot write the copy there "
                       f"({getattr(exc, 'strerror', None) or exc})") from None
    print(f"{database.safe_url}: backed up to {args.path}", file=sys.stderr)
    return 0
