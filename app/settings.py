"""Settings: database URL, user, clock and policy, from options or environment.

Precedence: explicit option, then environment (``VIGIL_DATABASE_URL``,
``VIGIL_USER``, ``VIGIL_NOW``, ``VIGIL_POLICY``), then defaults.

A user, a clock or a policy given here is *asserted*: believed only on
training, synthetic and evaluation databases. On a live database
:func:`app.services.context.open_context` refuses them: identity comes from
authentication (the PostgreSQL login, or the operating-system user on SQLite),
time from the server, policy from the database.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from platformdirs import user_data_dir

from app.clock import Clock
from app.dates import DateError, parse_datetime
from app.errors import BadInput


def data_dir() -> Path:
    folder = Path(os.environ.get("VIGIL_HOME") or user_data_dir("vigil", appauthor=False))
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)  # the live database lives here
    return folder


def save_folder() -> Path:
    """Where the terminal app saves files (minutes, reports): ``VIGIL_SAVE_DIR``,
    else the working directory Vigil was started in. Every save shows the full
    path."""
    named = os.environ.get("VIGIL_SAVE_DIR")
    return Path(named).expanduser() if named else Path.cwd()


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'vigil.db'}"


def training_database_url() -> str:
    return f"sqlite:///{data_dir() / 'training.db'}"


def login_name() -> str:
    """The operating-system user running Vigil (the identity on a live SQLite file)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name on some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    database_url: str
    # None: whoever authenticated (database login, or operating-system user)
    username: str | None = None
    now: datetime | None = None
    policy_path: Path | None = None
    training: bool = False
    # In training the trainer demonstrates as this role (supervisor, analyst, officer).
    demo_role: str | None = None

    def asserted(self) -> list[str]:
        """The options given that a live database refuses, as the user names them."""
        named: list[str] = []
        if self.username is not None:
            named.append("--user / VIGIL_USER")
        if self.now is not None:
            named.append("--now / VIGIL_NOW")
        if self.policy_path is not None:
            named.append("--policy / VIGIL_POLICY")
        return named

    @property
    def clock(self) -> Clock:
        return Clock.fixed(self.now) if self.now else Clock.system()

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def resolve(
        cls,
        *,
        db: str | None = None,
        user: str | None = None,
        now: str | None = None,
        policy: str | None = None,
        training: bool = False,
        demo_role: str | None = None,
    ) -> Settings:
        env = os.environ
        database_url = db or env.get("VIGIL_DATABASE_URL") or (
            training_database_url() if training else default_database_url()
        )
        when_text = now or env.get("VIGIL_NOW")
        when = None
        if when_text:
            try:
                when = parse_datetime(when_text)
            except DateError as exc:
                raise BadInput(f"--now: {exc}") from None
        policy_text = policy or env.get("VIGIL_POLICY")
        return cls(
            database_url=database_url,
            username=user or env.get("VIGIL_USER") or None,
            now=when,
            policy_path=Path(policy_text) if policy_text else None,
            training=training,
            demo_role=demo_role,
        )
