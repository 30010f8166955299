"""`vigil users list | add | deactivate | set-role`: the people who may use
this database. Only an administrator adds, deactivates or changes users (on
PostgreSQL their database logins follow); every change is audited."""

from __future__ import annotations

import argparse
import sys

from app.cli.base import CliEnv, add_action_parser, add_format_option
from app.output import Column, render
from app.services import users
from models.enums import Role

HELP = "list, add, deactivate or change Vigil users (administrators only change them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    listing = add_action_parser(actions, "list", "list users")
    add_format_option(listing)
    add = add_action_parser(actions, "add", "add a user (administrators)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--area", metavar="AREA",
                     help="area command (supervisors and officers; the force's own, from its "
                          "organisation in the policy)")
    deactivate = add_action_parser(actions, "deactivate",
                                   "stop a user acting (a leaver; administrators)")
    deactivate.add_argument("username")
    deactivate.add_argument("--reason", required=True, help="why (kept in the audit log)")
    set_role = add_action_parser(actions, "set-role", "change a user's role (administrators)")
    set_role.add_argument("username")
    set_role.add_argument("--role", required=True, choices=[r.value for r in Role])
    set_role.add_argument("--area", metavar="AREA",
                          help="area command (supervisors and officers)")
    set_role.add_argument("--reason", required=True, help="why (kept in the audit log)")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.users_action == "list":
        rows = [{"username": u.username, "display_name": u.display_name, "role": u.role,
                 "area_command": u.area_command, "active": u.active}
                for u in users.list_users(ctx)]
        columns = [Column("username", "Username"), Column("display_name", "Name"),
                   Column("role", "Role"), Column("area_command", "Area"), Column("active", "Active")]
        env.emit(render(rows, columns, args.format, title="Users"))
        return 0
    if args.users_action == "add":
        row = users.add_user(ctx, username=args.username, display_name=args.name,
                             role=args.role, area=args.area)
        print(f"added {row.username} ({row.role}{', ' + row.area_command if row.area_command else ''})",
              file=sys.stderr)
        return 0
    if args.users_action == "deactivate":
        row = users.deactivate_user(ctx, username=args.username, reason=args.reason)
        print(f"deactivated {row.username}", file=sys.stderr)
        return 0
    row = users.set_role(ctx, username=args.username, role=args.role, area=args.area,
                         reason=args.reason)
    print(f"{row.username} is now {row.role}{' in ' + row.area_command if row.area_command else ''}",
          file=sys.stderr)
    return 0
