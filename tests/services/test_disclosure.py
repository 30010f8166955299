"""Every disclosure is authorised and audited before release, and fails
closed (DPA 2018 s62): the export permission, a purpose, an event naming the
cases committed before any data leaves; no data when the event cannot be
written; files 0600; folders renamed into place as a set; formula prefixes
guarded (reversibly for the RMS round trip); Markdown escapes HTML."""

from __future__ import annotations

import inspect
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

import tui
from app.db import DATABASE_KIND_KEY, EVALUATION, Database
from app.errors import PermissionDenied
from app.rms.formats import CRIMES, FILE_ORDER, RISK
from app.rms.manifest import MANIFEST
from app.sanitise import neutralise_formula, restore_formula
from app.services import disclosure
from app.services.rms_export import export_cases
from app.services.rms_export_reads import CaseFilter
from app.services.rms_import import import_extract
from models import AuditEvent, AuditSubject, Case
from tests.conftest import NOW
from tests.factories import add_case, add_risk, extract_row, write_extract

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["=HYPERLINK(\"http://x.example/?\"&A1,\"open\")", "+SUM(1,2)", "-2+3", "@cmd",
           "\tTAB first", "\rCR first", "'=already guarded", "=1+1", "- a dash and words"]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for the exports, apart from the database file."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _seed(database: Database, cases: int = 12) -> list[str]:
    refs = []
    with database.write() as session:
        for n in range(cases):
            ref = f"NC/26/{n + 1:06d}"
            summary = HOSTILE[n % len(HOSTILE)] if n < len(HOSTILE) else f"Summary {n}"
            case = add_case(session, ref, NOW - timedelta(days=n + 1), summary=summary,
                            area="Northern" if n % 2 else "Southern", victim=f"V{n}",
                            suspect=f"S{n}", officer="=HYPERLINK(\"x\")" if n == 0 else None)
            add_risk(session, case, NOW - timedelta(days=n), rationale="@risk note")
            refs.append(ref)
    return refs


def _exports(database: Database) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == "export")
                                    .order_by(AuditEvent.id)).scalars())


def _named(database: Database, event_id: int) -> list[str]:
    with database.read() as session:
        return sorted(session.execute(select(AuditSubject.crime_ref)
                                      .where(AuditSubject.audit_event_id == event_id)).scalars())


def _refuse_export_events(database: Database) -> None:
    """Simulate an audit store that refuses the export event (a trigger)."""
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(text(
                "CREATE TRIGGER refuse_export BEFORE INSERT ON audit_event "
                "WHEN NEW.action = 'export' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"))
        else:
            conn.execute(text(
                "CREATE FUNCTION refuse_export() RETURNS trigger AS $$ BEGIN "
                "IF NEW.action = 'export' THEN RAISE EXCEPTION 'audit store refused'; END IF; "
                "RETURN NEW; END; $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_export BEFORE INSERT ON audit_event "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_export()"))


# --- the event comes first, names the cases and the purpose ----------------------
def test_the_export_event_names_every_case_and_the_purpose(database: Database, make_context,
                                                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refs = _seed(database)
    export_cases(make_context("analyst"), target=tmp_path / "c.csv", purpose="MAPPA panel",
                 flt=CaseFilter(area="Northern"))
    [event] = _exports(database)
    northern = [r for n, r in enumerate(refs) if n % 2]
    assert event.after["purpose"] == "MAPPA panel"
    assert event.after["rows"] == event.after["cases"] == len(northern)
    assert event.after["filter"] == "area Northern"
    assert event.after["crime_refs_sha256"] == disclosure.refs_digest(northern)
    assert _named(database, event.id) == northern
    assert "for: MAPPA panel" in event.reason


def test_a_purpose_is_required(database: Database, make_context, out: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(database, 2)
    from app.errors import BadInput

    with pytest.raises(BadInput, match="purpose"):
        export_cases(make_context("analyst"), target=out / "c.csv", purpose="  ")
    assert not (out / "c.csv").exists() and _exports(database) == []


def test_an_export_whose_event_cannot_be_written_leaves_no_file(database: Database, make_context,
                                                                out: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(database, 4)
    _refuse_export_events(database)
    ctx = make_context("analyst")
    for target in (out / "c.csv", f"{out / 'folder'}/"):
        with pytest.raises(disclosure.DisclosureRefused, match="nothing was written"):
            export_cases(ctx, target=target, purpose="audit check")
    sink = io.StringIO()
    with pytest.raises(disclosure.DisclosureRefused):
        export_cases(ctx, target=None, stdout=sink, purpose="audit check")
    with pytest.raises(disclosure.DisclosureRefused):
        disclosure.disclose_text(ctx, kind="search", fmt="csv", text="crime_ref\nNC/26/000001\n",
                                 target=out / "s.csv", purpose="audit check", filter="all",
                                 crime_refs=["NC/26/000001"], rows=1)
    assert sink.getvalue() == ""
    assert sorted(p.name for p in out.iterdir()) == []  # no file, no partial file
    assert _exports(database) == []


def test_an_export_during_a_long_write_saves_no_file_and_says_so(sqlite_database: Database,
                                                                 out: Path) -> None:
    from tests.conftest import _context_factory

    _seed(sqlite_database, 3)
    impatient = Database(sqlite_database.url, busy_timeout_ms=100)
    ctx = _context_factory(impatient)("analyst")
    holder = sqlite3.connect(sqlite_database.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(disclosure.DisclosureRefused, match="nothing was written"):
            export_cases(ctx, target=out / "c.csv", purpose="busy check")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert list(out.iterdir()) == []  # no file, no partial file
    impatient.dispose()


def test_an_officer_may_not_disclose_through_search(sqlite_database: Database, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _seed(sqlite_database, 4)
    target = tmp_path / "cases.csv"
    code = tui.main(["search", "--db", sqlite_database.url, "--user", "officer.northern",
                     "--now", NOW.isoformat(), "--format", "csv", "-o", str(target),
                     "--purpose", "curiosity"])
    assert code == 1 and not target.exists()
    assert "may not export" in capsys.readouterr().err
    with sqlite_database.read() as session:
        denied = session.execute(select(AuditEvent.action, AuditEvent.entity)
                                 .where(AuditEvent.action == "denied")).all()
    assert [tuple(d) for d in denied] == [("denied", "export")]


@pytest.mark.parametrize("command", [
    ["search", "--format", "csv"],
    ["breaches", "--format", "csv"],
    ["screen", "--format", "csv"],
    ["dmm", "--area", "Northern", "--format", "csv"],
    ["assurance", "--format", "csv"],
])
def test_every_o_option_is_a_disclosure(sqlite_database: Database, tmp_path: Path,
                                        command: list[str]) -> None:
    _seed(sqlite_database, 4)
    target = tmp_path / "out.csv"
    base = ["--db", sqlite_database.url, "--user", "supervisor.northern", "--now", NOW.isoformat()]
    assert tui.main([*command, *base, "-o", str(target)]) == 2  # no purpose: refused, no file
    assert not target.exists()
    assert tui.main([*command, *base, "-o", str(target), "--purpose", "weekly review"]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    [event] = _exports(sqlite_database)
    assert event.entity_id == command[0].replace("screen", "screening")
    assert event.after["purpose"] == "weekly review" and event.after["target"] == str(target)


# --- standard output that closes early ----------------------------------------------
class _ClosesEarly(io.StringIO):
    """A reader that takes a few writes and then goes away, like `head`."""

    def __init__(self, writes: int) -> None:
        super().__init__()
        self.left = writes

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= 1
        return super().write(text)


def test_export_to_a_reader_that_stops_early_leaves_the_event(sqlite_database: Database,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from app.services import rms_export

    refs = _seed(sqlite_database, 12)
    monkeypatch.setattr(rms_export, "_chunks", _small_chunks(rms_export._chunks))
    reader = _ClosesEarly(writes=1)
    monkeypatch.setattr(sys, "stdout", reader)
    code = tui.main(["export", "cases", "--db", sqlite_database.url, "--user", "analyst",
                     "--now", NOW.isoformat(), "--purpose", "first rows only"])
    monkeypatch.undo()
    assert code == 0
    assert "closed by its reader" in capsys.readouterr().err
    first, note = _exports(sqlite_database)
    assert first.after["rows"] == 12 and _named(sqlite_database, first.id) == sorted(refs)
    assert "the reader closed it" in note.reason


def _small_chunks(chunks):  # type: ignore[no-untyped-def]
    """One line per chunk, so the reader's early close lands mid-export."""
    def split(*args, **kwargs):  # type: ignore[no-untyped-def]
        for chunk in chunks(*args, **kwargs):
            yield from chunk.splitlines(keepends=True)
    return split


def test_export_piped_into_head_leaves_the_event(sqlite_database: Database) -> None:
    with sqlite_database.write() as session:
        for n in range(3000):
            add_case(session, f"NC/26/{n + 1:06d}", NOW - timedelta(minutes=n),
                     summary="x" * 200, victim=f"V{n}", suspect=f"S{n}")
    command = (f"{sys.executable} -m tui export cases --db {sqlite_database.url} --user analyst "
               f"--now {NOW.isoformat()} --purpose 'first ten lines' | head -n 10")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.count("\n") == 10
    assert "Traceback" not in done.stderr, done.stderr
    events = _exports(sqlite_database)
    assert events and events[0].after["rows"] == 3000 and events[0].after["cases"] == 3000


# --- files and folders ------------------------------------------------------------------
def test_files_are_created_readable_by_their_owner_only(database: Database, make_context,
                                                        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(database, 3)
    ctx = make_context("analyst")
    old_umask = os.umask(0o000)  # even a permissive umask gives 0600
    try:
        export_cases(ctx, target=tmp_path / "c.csv", purpose="permissions")
        export_cases(ctx, target=f"{tmp_path / 'extract'}/", purpose="permissions")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "extract").stat().st_mode) == 0o700
    for name in (*FILE_ORDER, MANIFEST):
        assert stat.S_IMODE((tmp_path / "extract" / name).stat().st_mode) == 0o600, name


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="reading as another user needs root and runuser")
def test_another_user_cannot_read_an_export(sqlite_database: Database, make_sqlite_context,
                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database, 2)
    os.chmod(tmp_path, 0o755)
    export_cases(make_sqlite_context("analyst"), target=tmp_path / "c.csv", purpose="perm")
    done = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(tmp_path / "c.csv")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Permission denied" in done.stderr
    assert done.stdout == ""


def test_a_folder_export_that_fails_midway_leaves_the_old_folder(sqlite_database: Database,
                                                                 make_sqlite_context, out: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from app.services import rms_export

    _seed(sqlite_database, 4)
    ctx = make_sqlite_context("analyst")
    folder = out / "extract"
    export_cases(ctx, target=f"{folder}/", purpose="first")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with sqlite_database.write() as session:
        add_case(session, "NC/26/999999", NOW, victim="VX", suspect="SX")
    real = rms_export.write_csv
    parameters = inspect.signature(real)

    def dies_on_risk(*args: Any, **kwargs: Any) -> int:
        if parameters.bind(*args, **kwargs).arguments["file_name"] == RISK:
            raise KeyboardInterrupt  # killed half way through
        return real(*args, **kwargs)

    monkeypatch.setattr(rms_export, "write_csv", dies_on_risk)
    with pytest.raises(KeyboardInterrupt):
        export_cases(ctx, target=f"{folder}/", purpose="second")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == ["extract"]  # nothing left aside


def test_a_folder_mixing_two_exports_is_refused_on_import(sqlite_database: Database,
                                                          make_sqlite_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]

    _seed(sqlite_database, 4)
    ctx = make_sqlite_context("analyst")
    export_cases(ctx, target=f"{tmp_path / 'one'}/", purpose="one")
    with sqlite_database.write() as session:
        case = session.execute(select(Case).where(Case.crime_ref == "NC/26/000001")).scalars().one()
        add_risk(session, case, NOW, rationale="later")
    export_cases(ctx, target=f"{tmp_path / 'two'}/", purpose="two")
    shutil.copy(tmp_path / "two" / RISK, tmp_path / "one" / RISK)
    result = import_extract(ctx, folder=tmp_path / "one")
    assert not result.ok
    assert any("mixes files of different exports" in e for e in result.errors)


def test_export_refuses_a_folder_holding_other_files(sqlite_database: Database,
                                                     make_sqlite_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.errors import BadInput

    _seed(sqlite_database, 2)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(BadInput, match="holds other files"):
        export_cases(make_sqlite_context("analyst"), target=f"{tmp_path / 'mine'}/", purpose="x")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# --- formulas and markup ----------------------------------------------------------------
@pytest.mark.parametrize("value", [*HOSTILE, "", "plain", "'", "''=x", "2026-03-01", "=",
                                   "'\t", "a=b"])
def test_the_formula_guard_is_reversible(value: str) -> None:
    guarded = neutralise_formula(value)
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore_formula(guarded) == value


def test_exported_csv_runs_no_formula_and_round_trips(database: Database, make_context,
                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import csv

    refs = _seed(database, len(HOSTILE) + 2)
    ctx = make_context("analyst")
    export_cases(ctx, target=f"{tmp_path / 'one'}/", purpose="round trip")
    with (tmp_path / "one" / CRIMES).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells = [v for row in rows for v in row.values()]
    tried = [v for v in cells if v.lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r")]
    through = [v for v in tried if not v.startswith("'")]
    print(f"formula cells exported: tried {len(tried)}, got through unguarded {len(through)}")
    assert len(tried) >= len(HOSTILE) and through == []
    with (tmp_path / "one" / RISK).open(newline="") as handle:
        assert {row["rationale"] for row in csv.DictReader(handle)} == {"'@risk note"}
    manifest = json.loads((tmp_path / "one" / MANIFEST).read_text())
    # the test databases are synthetic (app.db): so is their extract
    assert (manifest["source_kind"], manifest["formula_protection"]) == ("synthetic", "apostrophe")
    # the guard comes off on import: the same summaries, byte for byte
    import_extract(ctx, folder=tmp_path / "one")
    with database.read() as session:
        held = dict(session.execute(select(Case.crime_ref, Case.summary)
                                    .where(Case.crime_ref.in_(refs))).all())
    assert [held[r] for r in refs[:len(HOSTILE)]] == HOSTILE


def test_markdown_escapes_html(sqlite_database: Database, make_sqlite_context,
                               tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with sqlite_database.write() as session:
        add_case(session, "NC/26/000001", NOW, summary="<script>alert(1)</script> & <b>x</b>")
    export_cases(make_sqlite_context("analyst"), target=tmp_path / "c.md", fmt="md",
                 purpose="markup")
    written = (tmp_path / "c.md").read_text()
    assert "<script>" not in written and "<b>" not in written
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;" in written


# --- training and live never mix ------------------------------------------------------------
def test_a_training_extract_never_enters_a_live_database(tmp_path: Path, sqlite_template: Path) -> None:
    from app.errors import BadInput
    from tests.conftest import _context_factory

    paths = {}
    for kind in ("training", "live"):
        path = tmp_path / f"{kind}.db"
        shutil.copy(sqlite_template, path)
        paths[kind] = Database(f"sqlite:///{path}")
    # the "live" side: an evaluation database, which takes named users and a
    # fixed clock like the tests' own but refuses training data as live does
    paths["live"].set_meta(DATABASE_KIND_KEY, EVALUATION)
    paths["live"].set_meta("created_as", EVALUATION)
    training = _context_factory(paths["training"])("trainer", training=True,
                                                   demo_role="analyst")
    with paths["training"].write() as session:
        add_case(session, "TR/26/000001", NOW, summary="synthetic")
    export_cases(training, target=f"{tmp_path / 'from-training'}/", purpose="exercise")
    live = _context_factory(paths["live"])("analyst")
    with pytest.raises(BadInput, match="exported from a TRAINING database"):
        import_extract(live, folder=tmp_path / "from-training")
    with paths["live"].read() as session:
        assert session.execute(select(Case.id)).first() is None
    # and a training database refuses a live extract, or an unmarked one
    with paths["live"].write() as session:
        add_case(session, "NC/26/000001", NOW)
    export_cases(live, target=f"{tmp_path / 'from-live'}/", purpose="copy")
    write_extract(tmp_path / "unmarked", {CRIMES: [extract_row(CRIMES, crime_ref="NC/26/000009")]})
    for folder in ("from-live", "unmarked"):
        with pytest.raises(BadInput, match="training database takes only"):
            import_extract(training, folder=tmp_path / folder)
    # a version-1 folder (no manifest) still imports into a live database
    assert import_extract(live, folder=tmp_path / "unmarked").ok
    for database in paths.values():
        database.dispose()


def test_permission_is_checked_before_anything_is_written(database: Database, make_context,
                                                          out: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(database, 2)
    with pytest.raises(PermissionDenied):
        export_cases(make_context("officer.northern"), target=out / "c.csv", purpose="x")
    assert list(out.iterdir()) == []


# --- DMM minutes leave by the one path ---------------------------------------------------
def test_dmm_minutes_leave_only_through_the_disclosure_path(database: Database, make_context,
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every way the minutes leave Vigil (the screen's save, `vigil dmm -o`,
    `vigil export dmm -o`): the export permission, a purpose, the event naming
    every case before the text, fail closed; user text is HTML-escaped."""
    from app.errors import BadInput, PermissionDenied
    from app.services import dmm
    from app.services.dmm_minutes import minutes_filename, minutes_for_saving
    from tests.factories import case_version, dmm_morning

    with database.write() as session:
        dmm_morning(session)
    supervisor = make_context("supervisor.northern")
    monday = dmm.current_meeting_date(supervisor)
    dmm.record_decision(supervisor, area="Northern", meeting_date=monday, crime_ref="NC/26/0105",
                        decision="actions_set", rationale="<script>alert(1)</script> & <b>x</b>",
                        expected_version=case_version(supervisor, crime_ref="NC/26/0105"))
    filename = minutes_filename("Northern", monday)
    saves = tmp_path / "saves"
    saves.mkdir()

    def export_minutes(ctx, *, purpose: str | None) -> str:  # type: ignore[no-untyped-def]
        # the screen's save (screens.base.VigilScreen.save_disclosure, in the terminal)
        text, refs, rows = minutes_for_saving(ctx, area="Northern", meeting_date=monday)
        saved = disclosure.save_to_folder(
            ctx, folder=saves, filename=filename, kind="dmm", fmt="md", text=text,
            purpose=purpose, filter="Northern meeting", crime_refs=refs, rows=rows)
        return saved.read_text(encoding="utf-8")

    tried = got_through = 0
    for who, purpose in (("officer.northern", "curiosity"), ("supervisor.northern", " ")):
        tried += 1
        try:
            export_minutes(make_context(who), purpose=purpose)
            got_through += 1
        except (PermissionDenied, BadInput):
            pass
    assert _exports(database) == []
    text_out = export_minutes(supervisor, purpose="circulate to the area")
    [event] = _exports(database)
    assert event.after["purpose"] == "circulate to the area" and event.after["kind"] == "dmm"
    assert _named(database, event.id) == sorted({
        line.split(". ", 1)[1].split(" (priority")[0].replace("\\", "")
        for line in text_out.splitlines() if line.startswith("## ")})
    assert "<script>" not in text_out and "<b>" not in text_out and "\\<script\\>" in text_out
    # the command line's -o, both ways, and fail closed when the event cannot be written
    base = ["--db", database.url, "--user", "supervisor.northern", "--now", NOW.isoformat()]
    for command in (["dmm", "--area", "Northern", "--format", "md"],
                    ["export", "dmm", "--area", "Northern", "--format", "md"]):
        target = tmp_path / f"{command[0]}.md"
        tried += 1
        if tui.main([*command, *base, "-o", str(target)]) == 0:  # no purpose
            got_through += 1
        assert tui.main([*command, *base, "-o", str(target), "--purpose", "weekly review"]) == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert "<script>" not in target.read_text()
    _refuse_export_events(database)
    tried += 1
    try:
        export_minutes(supervisor, purpose="after the audit store failed")
        got_through += 1
    except disclosure.DisclosureRefused:
        pass
    print(f"DMM minutes leaving without the disclosure path: tried {tried}, "
          f"got through {got_through}")
    assert (tried, got_through) == (5, 0)
    assert len(_exports(database)) == 3
    assert [p.name for p in saves.iterdir()] == [filename]  # nothing left by the refusals
