"""`vigil audit verify`: check the audit log's hash chain (auditors and
administrators). Exit 1 when an event was edited, deleted or slipped in."""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv, add_action_parser
from app.services import audit_verify

HELP = "check the audit log: nothing edited, deleted or inserted outside Vigil"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    add_action_parser(actions, "verify", "walk the audit log's hash chain")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    report = audit_verify.verify(ctx)
    env.emit("\n".join(report.lines()) + "\n")
    return 0 if report.ok else 1
