"""`vigil serve`: the terminal app in a browser, through textual-serve.

textual-serve has no authentication of its own. On a live database `vigil
serve` refuses to start unless identity comes from an authenticating front:
the force's proxy on this host authenticates each person and names them in a
trusted header (``--trusted-header X-Remote-User``); Vigil listens on
loopback only and believes the header only from loopback. Each browser
session runs its own Vigil process acting as that person's database login:
``vigil serve`` connects with a front login (NOINHERIT, member of
``vigil_front``) that may only ``SET ROLE`` to Vigil people's logins, so the
audit triggers record the person, not the front. The database URL reaches the
sessions through the environment, never a command line. On training,
synthetic and evaluation databases it serves as before (`vigil demo --web`).
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import text

from app.cli.base import CliEnv
from app.db import ASSERTED_IDENTITY_KINDS, LIVE, Database
from app.errors import BadInput
from app.services.context import refuse_asserted_on_live

HELP = "serve the app in a web browser (live databases: only behind an authenticating proxy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; on a live database "
                        "loopback only, behind the force's authenticating proxy)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--trusted-header", metavar="NAME",
                        help="live databases: the HTTP header in which the force's proxy on "
                        "this host names the authenticated person, e.g. X-Remote-User")


def global_argv(env: CliEnv) -> list[str]:
    """The global options of this invocation (but the database) for each session."""
    argv: list[str] = []
    for name in ("user", "now", "policy"):
        value = env.option(name)
        if value:
            argv += [f"--{name}", value]
    return argv


def is_front(database: Database) -> bool:
    with database.read() as session:
        return bool(session.execute(text(
            "SELECT pg_has_role(session_user, 'vigil_front', 'MEMBER') AND NOT r.rolsuper "
            "FROM pg_roles r WHERE r.rolname = session_user")).scalar())


def check_front(database: Database) -> str:
    """The login `vigil serve` connects with must be a web front: member of
    vigil_front, inheriting nothing, not an administrator of the server."""
    with database.read() as session:
        row = session.execute(text(
            "SELECT session_user AS login, r.rolsuper, r.rolbypassrls, r.rolinherit, "
            "pg_has_role(session_user, 'vigil_front', 'MEMBER') AS front "
            "FROM pg_roles r WHERE r.rolname = session_user")).one()
    if row.rolsuper or row.rolbypassrls or row.rolinherit or not row.front:
        raise BadInput(
            f"vigil serve: login {row.login!r} is not a web front. Connect with a login the "
            "database administrator made for it: CREATE ROLE vigil_web LOGIN NOINHERIT IN ROLE "
            "vigil_front (it may only become the people's own logins)")
    return str(row.login)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if not 0 < args.port < 65536:
        raise BadInput(f"--port {args.port}: not a port number")
    from app.web import LOOPBACK, serve

    settings = env.settings()
    database = env.database(settings)
    database.check_reachable()
    if database.dialect == "postgresql" and is_front(database):
        # a web front may read nothing: it asks the database only whether it is live
        with database.read() as session:
            live = bool(session.execute(text("SELECT vigil_is_live()")).scalar())
        if not live:
            raise BadInput("a web front login serves only a live database; "
                           "`vigil demo --web` serves the training database")
        kind = LIVE
    else:
        database.upgrade(create_as=LIVE)
        kind = database.database_kind() or LIVE
    if kind not in ASSERTED_IDENTITY_KINDS:
        refuse_asserted_on_live(settings, database)
        if not args.trusted_header:
            raise BadInput(
                "vigil serve on a LIVE database needs an authenticating front: put the force's "
                "proxy in front of it and give --trusted-header NAME (the header in which the "
                "proxy names the person); textual-serve has no authentication of its own. "
                "`vigil demo --web` serves the training database")
        if database.dialect != "postgresql":
            raise BadInput("vigil serve on a live SQLite database: every browser session would "
                           "act as this host's user; multi-user deployments use PostgreSQL")
        if args.host not in LOOPBACK:
            raise BadInput(f"--host {args.host}: with --trusted-header Vigil listens on "
                           "loopback only, behind the proxy")
        front = check_front(database)
        print(f"vigil: serving the live database as front {front} for the people named in "
              f"{args.trusted_header} on http://{args.host}:{args.port}/", file=sys.stderr)
        serve([], host=args.host, port=args.port, title="Vigil",
              environment={"VIGIL_DATABASE_URL": database.url},
              trusted_header=args.trusted_header)
        return 0
    # Open the database once here so a wrong URL, user or policy fails now, not in the browser.
    env.context(training=False)
    serve(global_argv(env), host=args.host, port=args.port, title="Vigil",
          environment={"VIGIL_DATABASE_URL": database.url})
    return 0
