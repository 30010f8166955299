"""What every subcommand shares: settings from the global options, the
service context, and writing output to stdout or a file."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.db import EVALUATION, LIVE, TRAINING, Database
from app.errors import BadInput, FirstRun
from app.output import FORMATS, set_output_options
from app.policy import load_policy
from app.services.context import ServiceContext, open_context
from app.settings import Settings


@dataclass
class CliEnv:
    args: argparse.Namespace
    _settings: Settings | None = None
    _databases: list[Database] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliEnv:
        return cls(args=args)

    def option(self, name: str) -> str | None:
        return getattr(self.args, name, None)

    def settings(self, *, training: bool = False, demo_role: str | None = None) -> Settings:
        settings = Settings.resolve(
            db=self.option("db"),
            user=self.option("user"),
            now=self.option("now"),
            policy=self.option("policy"),
            training=training,
            demo_role=demo_role,
        )
        load_policy(settings.policy_path)  # a bad policy is an error naming the key, for every command
        return settings

    def database(self, settings: Settings) -> Database:
        from app.web import WEB_LOGIN_ENV

        database = Database(settings.database_url, act_as=os.environ.get(WEB_LOGIN_ENV) or None)
        self._databases.append(database)
        return database

    def context(self, *, training: bool | None = None, demo_role: str | None = None) -> ServiceContext:
        """The service context for the acting user. A training database is
        opened as training automatically for read-only commands."""
        settings = self.settings(training=bool(training), demo_role=demo_role)
        database = self.database(settings)
        require_set_up(database)
        database.upgrade(create_as=LIVE)
        kind = database.database_kind()
        if training is None and kind == TRAINING:
            settings = settings.with_(training=True)
        if kind == TRAINING:  # every output from it says so
            set_output_options(training=True)
        context = open_context(settings, database=database, migrate=False)
        if kind == EVALUATION:
            print(f"vigil: EVALUATION database {database.safe_url}: sample data, never live",
                  file=sys.stderr)
        if kind == LIVE:
            hint_when_empty(database)
        return context

    def emit(self, text: str, output: str | None = None) -> None:
        if output:
            path = Path(output)
            if not path.parent.exists():
                raise BadInput(f"-o {output}: folder {path.parent} does not exist")
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
        else:
            write_human(text)

    def close(self) -> None:
        for database in self._databases:
            database.dispose()


def setup_steps() -> str:
    from app.settings import training_database_url

    return ("To try Vigil on synthetic data: `vigil demo` (then, for the command line, "
            f"`--db {training_database_url()} --user supervisor.northern`). "
            "For a live force: `vigil db upgrade --admin NAME` creates the database and its "
            "first administrator, who adds people with `vigil users add NAME --role ROLE "
            "--area AREA`; the cases come from the RMS with `vigil import FOLDER`.")


def require_set_up(database: Database) -> None:
    """A command other than ``vigil db upgrade`` never sets up a database: on
    one without Vigil's tables it says what to run first."""
    if database.is_migrated():
        return
    where = database.engine.url.database if database.dialect == "sqlite" else database.safe_url
    raise FirstRun(f"there is no Vigil database at {where} yet. {setup_steps()}")


def hint_when_empty(database: Database) -> None:
    """On a live database without cases, say where they come from (stderr)."""
    from seed.generator import existing_cases

    try:
        empty = existing_cases(database) == 0
    except Exception:  # a login without the right to count cases
        return
    if empty:
        print("vigil: this database holds no cases yet: `vigil import FOLDER` loads the "
              "force's RMS extract (`vigil import --help` describes its files)",
              file=sys.stderr)


def add_confirm_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", metavar="NAME",
                        help="confirm a reset without being asked: the database's name "
                        "(PostgreSQL database name, or SQLite file name)")


def confirm_reset(database: Database, yes: str | None, what: str) -> None:
    """A destructive command goes ahead only when the person types the
    database's name, or gives it with ``--yes``."""
    name = database.name
    if yes is not None:
        if yes != name:
            raise BadInput(f"--yes {yes!r}: this database is named {name!r}; nothing was changed")
        return
    if sys.stdin.isatty():
        typed = input(f"{what} empties {database.safe_url}. Type its name ({name}) to go on: ")
        if typed.strip() == name:
            return
        raise BadInput(f"{what}: not confirmed; nothing was changed")
    raise BadInput(f"{what} empties {database.safe_url}: confirm with --yes {name}")


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool = True) -> None:
    """--db, --user, --now, --policy. Subparsers suppress their defaults so an
    option given before the subcommand is not overwritten by the default after it."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument("--db", metavar="URL", default=default,
                       help="database URL (sqlite:///FILE or postgresql+psycopg://...); "
                       "env VIGIL_DATABASE_URL")
    group.add_argument("--user", metavar="NAME", default=default,
                       help="training, synthetic and evaluation databases only: the Vigil user "
                       "to act as; env VIGIL_USER (live: your own login, never this)")
    group.add_argument("--now", metavar="ISO", default=default,
                       help="training, synthetic and evaluation databases only: fix the clock, "
                       "e.g. 2026-03-02T08:00:00Z; env VIGIL_NOW")
    group.add_argument("--policy", metavar="FILE", default=default,
                       help="training, synthetic and evaluation databases only: policy TOML "
                       "merged over the defaults; env VIGIL_POLICY (live: `vigil policy set`)")


def add_action_parser(actions: argparse._SubParsersAction, name: str,  # type: ignore[type-arg]
                      help_text: str) -> argparse.ArgumentParser:
    """A nested action (`vigil db upgrade`) that also takes the global options."""
    parser = actions.add_parser(name, help=help_text, description=help_text)
    add_global_options(parser)
    return parser


# Record numbers are stored as 64-bit integers on both engines.
MAX_RECORD_ID = 2 ** 63 - 1


def whole_number(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (argparse
    names the option and exits 2 otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {what} from {low:,} to {high:,}, "
                                             f"got {text}")
        return value

    return parse


record_id = whole_number(1, MAX_RECORD_ID, "a record number")


def add_format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("table", "json", "csv", "md"),
                      default: str = "table") -> None:
    parser.add_argument("--format", choices=[c for c in choices if c in FORMATS], default=default,
                        help=f"output format (default {default})")
    if "--limit" not in parser._option_string_actions:  # a command's own --limit pages in SQL
        parser.add_argument("--limit", dest="output_limit", metavar="N",
                            type=whole_number(1, 10_000_000, "a number of rows"),
                            help="show at most N rows (and say how many more there were)")


def write_human(text: str) -> None:
    """Standard output; through a pager (``PAGER``, else less) when it is a
    terminal and the text is longer than the screen."""
    if sys.stdout.isatty() and os.environ.get("PAGER", "less") not in ("", "cat"):
        import shutil

        height = shutil.get_terminal_size((80, 24)).lines
        if text.count("\n") > height - 2:
            import pydoc

            pydoc.pager(text)
            return
    sys.stdout.write(text)
    sys.stdout.flush()


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")


@contextmanager
def working(description: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A Rich progress line on the terminal (standard error) while a long
    command runs: a bar when ``total`` is known, a spinner otherwise. The
    callback takes ``done`` (a count) and/or ``text`` (what it is doing).
    Nothing is drawn when standard error is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda done=None, text=None: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int | None = None, text: str | None = None) -> None:
            progress.update(task, completed=done, description=text or description)

        yield update
