"""`vigil policy show | set FILE | history`: the force policy stored in the
database. Everyone may read it; only an administrator sets a new version."""

from __future__ import annotations

import argparse
import sys

from app.cli.base import CliEnv, add_action_parser, add_format_option, record_id
from app.dates import LONDON
from app.output import Column, render
from app.services import policy_store

HELP = "show the force policy in effect, set a new version (administrators), or list versions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="policy_action", metavar="ACTION", required=True)
    show = add_action_parser(actions, "show", "print the policy in effect (TOML)")
    show.add_argument("--version", type=record_id, metavar="N", help="an earlier stored version")
    setter = add_action_parser(actions, "set", "store FILE as the next policy version")
    setter.add_argument("file", metavar="FILE", help="TOML holding the keys the force changes")
    setter.add_argument("--note", required=True, help="why the policy changes")
    listing = add_action_parser(actions, "history", "list the stored versions")
    add_format_option(listing)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.policy_action == "show":
        version, policy_text = policy_store.view_text(ctx, args.version)
        print(f"policy version {version}", file=sys.stderr)
        env.emit(policy_text)
        return 0
    if args.policy_action == "set":
        version = policy_store.set_policy(ctx, path=args.file, note=args.note)
        print(f"policy version {version} is now in effect", file=sys.stderr)
        return 0
    rows = [{"version": h.version, "set_at": h.set_at.astimezone(LONDON).strftime("%d/%m/%Y %H:%M"),
             "set_by": h.set_by, "sha256": h.sha256[:12], "note": h.note or ""}
            for h in policy_store.view_history(ctx)]
    columns = [Column("version", "Version"), Column("set_at", "Set"), Column("set_by", "By"),
               Column("sha256", "SHA-256"), Column("note", "Why")]
    env.emit(render(rows, columns, args.format, title="Policy versions"))
    return 0
