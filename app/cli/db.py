"""`vigil db upgrade | backup PATH`: create or migrate the schema, verify the
database's defences, and make online backups.

``vigil db upgrade`` on a new database creates it LIVE (``--evaluation``: an
evaluation database, for good) and, with ``--admin NAME``, its first
administrator. On PostgreSQL it is run by the force's database administrator:
it creates the roles, runs the migrations as the owner role and installs the
grants, row-level security and audit triggers. On a schema already at the
newest migration it verifies them all and names anything missing or changed;
``--repair`` reinstalls them.
"""

from __future__ import annotations

import argparse
import grp
import os
import sqlite3
import sys
from pathlib import Path

from app import dbsecurity
from app.cli.base import CliEnv, add_action_parser
from app.db import EVALUATION, LIVE, Database
from app.errors import BadInput, VigilError
from app.services.users import create_first_admin

HELP = "database maintenance: create, upgrade and verify the schema, or make an online backup"


class DefencesMissing(VigilError):
    """The database's triggers, grants, policies or roles are not as installed."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = add_action_parser(actions, "upgrade",
                                "create or migrate the schema and verify the database's defences")
    upgrade.add_argument("--evaluation", action="store_true",
                         help="create an empty EVALUATION database (sample extracts, named users "
                         "and a fixed clock allowed; never live)")
    upgrade.add_argument("--admin", metavar="NAME",
                         help="create the first Vigil administrator (on PostgreSQL also their login)")
    upgrade.add_argument("--admin-name", metavar="TEXT", default="Vigil administrator",
                         help="display name of the first administrator")
    upgrade.add_argument("--group", metavar="GROUP",
                         help="SQLite: share the new database file with this group of the "
                         "host's users (file 0660, folder 0770; default 0600 and 0700)")
    upgrade.add_argument("--repair", action="store_true",
                         help="reinstall missing or changed triggers, grants and policies")
    backup = add_action_parser(actions, "backup", "consistent online copy of an SQLite database")
    backup.add_argument("path", metavar="PATH", help="file to write the copy to")


def _group_id(database: Database, group: str) -> int:
    if database.dialect != "sqlite" or not database.engine.url.database:
        raise BadInput("--group: only for an SQLite database file")
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise BadInput(f"--group {group!r}: no such group on this host") from None


def _share_with_group(database: Database, group: str) -> None:
    gid = _group_id(database, group)
    file = Path(str(database.engine.url.database))
    for target, mode in ((file, 0o660), (file.parent, 0o770)):
        os.chown(target, -1, gid)
        os.chmod(target, mode)


def upgrade(args: argparse.Namespace, database: Database) -> None:
    wanted = EVALUATION if args.evaluation else LIVE
    existed = database.is_migrated()
    current = database.database_kind() if existed else None
    if args.evaluation and existed and current != EVALUATION:
        raise BadInput(f"--evaluation: {database.safe_url} already exists "
                       f"({current or 'unmarked'}); an evaluation database is created empty")
    if args.group and existed:
        raise BadInput("--group: only when creating the database file")
    if args.group:
        _group_id(database, args.group)  # before anything is written
    migrated = database.upgrade(create_as=wanted, repair=args.repair)
    if args.group:
        _share_with_group(database, args.group)
    if database.database_kind() is None:
        database.mark_kind(wanted)
    kind = database.database_kind() or wanted
    with database.engine.connect() as connection:
        problems = dbsecurity.verify(connection)
    if problems:
        listed = "\n  ".join(problems)
        raise DefencesMissing(
            f"{database.safe_url}: the schema is at the newest migration but its defences are "
            f"not as the migrations made them:\n  {listed}\n"
            "Run `vigil db upgrade --repair` as the database administrator to reinstall them.")
    if args.admin:
        name = create_first_admin(database, args.admin, args.admin_name, kind)
        print(f"first administrator: {name}", file=sys.stderr)
    state = "migrated" if migrated else ("repaired" if args.repair else "up to date")
    print(f"{database.safe_url}: schema {state} ({kind}); triggers, grants and policies verified",
          file=sys.stderr)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    settings = env.settings()
    database = env.database(settings)
    if args.db_action == "upgrade":
        upgrade(args, database)
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
