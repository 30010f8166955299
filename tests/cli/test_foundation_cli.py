"""The `vigil` entry point: version, usage errors and bad input give exit 2
with a message naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

import tui
from app import __version__


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tui.main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_option_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tui.main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_unreadable_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert tui.main(["db", "upgrade", "--db", "definitely not a url"]) == 2
    assert "database URL 'definitely not a url' cannot be read" in capsys.readouterr().err


def test_database_in_missing_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/vigil.db"
    assert tui.main(["--db", url, "db", "upgrade"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_invalid_policy_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "force.toml"
    policy.write_text("[breach]\nacknowledge_within_hourz = 12\n")
    db = f"sqlite:///{tmp_path}/v.db"
    assert tui.main(["users", "list", "--db", db, "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert "policy key 'breach.acknowledge_within_hourz' is not known" in err


def test_policy_wrong_type(tmp_path: Path) -> None:
    from app.errors import PolicyError
    from app.policy import load_policy

    policy = tmp_path / "force.toml"
    policy.write_text('[victims_code]\nreferral_working_days = "two"\n')
    with pytest.raises(PolicyError, match=r"'victims_code.referral_working_days': expected a whole number"):
        load_policy(policy)


def test_global_options_before_or_after_subcommand(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/v.db"
    assert tui.main(["--db", db, "db", "upgrade"]) == 0
    assert tui.main(["db", "upgrade", "--db", db]) == 0
    assert (tmp_path / "v.db").exists()


def test_backup_makes_a_consistent_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    db = f"sqlite:///{tmp_path}/v.db"
    monkeypatch.setenv("LOGNAME", "it.admin")  # the live SQLite identity: the host's user
    assert tui.main(["--db", db, "db", "upgrade", "--admin", "it.admin"]) == 0
    assert tui.main(["--db", db, "users", "add", "ps.test", "--name", "PS Test",
                     "--role", "supervisor", "--area", "Northern"]) == 0
    assert tui.main(["--db", db, "db", "backup", str(tmp_path / "copy.db")]) == 0
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT username FROM app_user ORDER BY username").fetchall() == [
            ("it.admin",), ("ps.test",)]
