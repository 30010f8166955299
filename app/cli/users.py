"""`vigil users list | add`: the people who may use this database."""

from __future__ import annotations

import argparse

from sqlmodel import select

from app.cli.base import CliEnv, add_action_parser, add_format_option
from app.errors import BadInput
from app.output import Column, render
from app.services.context import system_context
from models import User
from models.enums import AuditAction, Role
from seed.reference import organisation

# the lengths of app_user.username and app_user.display_name
USERNAME_LENGTH = 64
NAME_LENGTH = 120
HELP = "list or add Vigil users (username, role, area command)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    listing = add_action_parser(actions, "list", "list users")
    add_format_option(listing)
    add = add_action_parser(actions, "add", "add a user")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--area", choices=list(organisation().area_commands),
                     help="area command (supervisors and officers)")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    settings = env.settings()
    database = env.database(settings)
    database.upgrade()
    if args.users_action == "list":
        with database.read() as session:
            users = session.exec(select(User).order_by(User.username)).all()
        rows = [{"username": u.username, "display_name": u.display_name, "role": u.role,
                 "area_command": u.area_command, "active": u.active} for u in users]
        columns = [Column("username", "Username"), Column("display_name", "Name"),
                   Column("role", "Role"), Column("area_command", "Area"), Column("active", "Active")]
        env.emit(render(rows, columns, args.format, title="Users"))
        return 0
    for what, value, limit in (("username", args.username, USERNAME_LENGTH),
                               ("--name", args.name, NAME_LENGTH)):
        if not value.strip() or len(value) > limit:
            raise BadInput(f"users add: {what} must be 1 to {limit} characters "
                           f"(got {len(value)})")
    if args.role in (Role.SUPERVISOR, Role.OFFICER) and not args.area:
        raise BadInput(f"users add: --area is required for a {args.role}")
    with database.write() as session:
        if session.exec(select(User).where(User.username == args.username)).first():
            raise BadInput(f"users add: {args.username!r} already exists")
        session.add(User(username=args.username, display_name=args.name, role=args.role,
                         area_command=args.area))
        admin = system_context(database, clock=settings.clock, username=settings.username)
        admin.audit(session, AuditAction.CREATE, "user", args.username,
                    reason="user added from the command line",
                    after={"role": args.role, "area_command": args.area})
    print(f"added {args.username} ({args.role})")
    return 0
