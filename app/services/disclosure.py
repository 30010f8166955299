"""One path for all case data leaving Vigil (DPA 2018 s62: disclosure is logged).

Files, standard output, the screens' saves and the browser's downloads all
come through here, in this order:

1. the export permission is checked (a refusal is audited);
2. a purpose is required (the CLI asks for it, or takes ``--purpose``);
3. an ``export`` audit event is committed naming the kind, the filter, the
   row count, the purpose, where the data goes, and every case disclosed (one
   :class:`~models.AuditSubject` row each, with a digest of the references in
   the event itself); if it cannot be written, nothing is disclosed;
4. only then is the data released: a file is written aside (created 0600)
   and renamed into place, a folder is written aside and renamed as a set, so
   an export that fails or is killed leaves the old file or folder, never half
   of one.

Standard output is released after the event too; a reader that stops early
(``vigil export cases | head``) leaves the event and a note of how far it got.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from app.errors import BadInput, VigilError
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models.enums import AuditAction

PURPOSE_LENGTH = 400
STANDARD_OUTPUT = "standard output"
FILE_MODE = 0o600
FOLDER_MODE = 0o700


class DisclosureRefused(VigilError):
    """The disclosure could not be logged, so nothing was disclosed."""


class OutputClosed(VigilError):
    """Standard output was closed by its reader before the end (the event stands)."""

    exit_code = 0


@dataclass(frozen=True)
class Disclosure:
    """What leaves Vigil: the audit event's content."""

    kind: str  # cases, search, breaches, screening, dmm, assurance
    format: str
    target: str  # a path, "standard output", "download"
    filter: str
    purpose: str
    rows: int
    crime_refs: tuple[str, ...] = ()
    files: dict[str, int] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return refs_digest(self.crime_refs)

    def summary(self) -> str:
        cases = len(set(self.crime_refs))
        return (f"{self.kind} disclosed as {self.format} to {self.target} for: {self.purpose}; "
                f"filter: {self.filter or 'none'}; {self.rows:,} rows, {cases:,} cases")


def refs_digest(refs: Iterable[str]) -> str:
    """SHA-256 of the sorted distinct references, one a line: who holds the
    list can prove it is the one disclosed."""
    text = "\n".join(sorted(set(refs)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def require_purpose(purpose: str | None, kind: str) -> str:
    text = " ".join((purpose or "").split())
    if not text:
        raise BadInput(f"export {kind}: give the purpose of this disclosure (--purpose TEXT): "
                       "it is recorded with who and when")
    if len(text) > PURPOSE_LENGTH:
        raise BadInput(f"--purpose: at most {PURPOSE_LENGTH} characters (got {len(text)})")
    return text


def authorise(ctx: ServiceContext, kind: str) -> None:
    """Refuse (audited) unless the user may export."""
    ctx.require(Permission.EXPORT, entity="export", entity_id=kind)


def authorised_purpose(ctx: ServiceContext, kind: str, purpose: str | None) -> str:
    """The permission, then the purpose, cleaned."""
    authorise(ctx, kind)
    return require_purpose(purpose, kind)


def record(ctx: ServiceContext, disclosure: Disclosure) -> None:
    """Commit the export event naming every case; :class:`DisclosureRefused`
    (and nothing disclosed) when it cannot be written."""
    refs = sorted(set(disclosure.crime_refs))
    after = {
        "kind": disclosure.kind, "format": disclosure.format, "target": disclosure.target,
        "filter": disclosure.filter, "purpose": disclosure.purpose, "rows": disclosure.rows,
        "cases": len(refs), "crime_refs_sha256": refs_digest(refs),
    }
    if disclosure.files:
        after["files"] = dict(disclosure.files)
    try:
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.EXPORT, "export", disclosure.kind, refs,
                         reason=disclosure.summary(), after=after)
    except (SQLAlchemyError, VigilError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DisclosureRefused(
            f"export {disclosure.kind}: the disclosure could not be logged ({reason}); "
            "nothing was written"
        ) from None


def note(ctx: ServiceContext, kind: str, text: str) -> None:
    """A follow-up to a recorded disclosure (cut short, failed); best effort:
    the disclosure event itself is already committed."""
    try:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.EXPORT, "export", kind, reason=text)
    except (SQLAlchemyError, VigilError):
        pass


# --- files created 0600, written aside ---------------------------------------
def check_file_target(kind: str, target: str | Path) -> Path:
    path = Path(target).expanduser()
    if not path.parent.is_dir():
        raise BadInput(f"export {kind} -o {target}: folder {path.parent} does not exist")
    if path.is_dir():
        raise BadInput(f"export {kind} -o {target}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise BadInput(f"export {kind} -o {target}: not a regular file")
    return path


def _unwritable(kind: str, target: str | Path, exc: OSError) -> BadInput:
    return BadInput(f"export {kind} -o {target}: cannot write there ({exc.strerror or exc})")


def open_private(path: Path) -> TextIO:
    """A new file only its owner can read (0600 whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


class AsideFile:
    """A 0600 file beside ``path``, renamed into place by :meth:`release`."""

    def __init__(self, kind: str, target: str | Path) -> None:
        self.kind = kind
        self.target = target
        self.path = check_file_target(kind, target)
        try:
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial",
                                        dir=self.path.parent)
        except OSError as exc:
            raise _unwritable(kind, target, exc) from None
        os.fchmod(fd, FILE_MODE)
        self.partial = Path(name)
        self.handle: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def release(self) -> None:
        self.handle.close()
        try:
            os.replace(self.partial, self.path)
        except OSError as exc:
            self.discard()
            raise _unwritable(self.kind, self.target, exc) from None

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.partial.unlink(missing_ok=True)


class AsideFolder:
    """A 0700 folder beside ``target`` holding the new files; :meth:`release`
    renames it into place as a set (the old folder, if any, is moved aside
    first and removed after), so a reader sees the old set or the new one."""

    def __init__(self, kind: str, target: str | Path, allowed: Iterable[str]) -> None:
        self.kind = kind
        self.target = target
        self.path = Path(str(target)).expanduser()
        if self.path.exists() and not self.path.is_dir():
            raise BadInput(f"export {kind} -o {target}: not a folder")
        parent = self.path.resolve().parent if self.path.exists() else self.path.parent
        if not parent.is_dir():
            raise BadInput(f"export {kind} -o {target}: folder {parent} does not exist")
        if self.path.is_dir():
            strays = sorted(p.name for p in self.path.iterdir() if p.name not in set(allowed))
            if strays:
                raise BadInput(f"export {kind} -o {target}: the folder holds other files "
                               f"({', '.join(strays[:5])}); export to a new or an extract folder")
        try:
            self.aside = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial",
                                               dir=parent))
        except OSError as exc:
            raise _unwritable(kind, target, exc) from None
        os.chmod(self.aside, FOLDER_MODE)

    def open(self, name: str) -> TextIO:
        return open_private(self.aside / name)

    def release(self) -> None:
        old: Path | None = None
        try:
            if self.path.is_dir():
                old = self.path.with_name(f".{self.path.name}.old-{os.getpid()}")
                os.rename(self.path, old)
            os.rename(self.aside, self.path)
        except OSError as exc:
            if old is not None and not self.path.exists():
                os.rename(old, self.path)
            self.discard()
            raise _unwritable(self.kind, self.target, exc) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.aside, ignore_errors=True)


# --- text disclosures (lists, boards, reports, minutes) ------------------------
@dataclass(frozen=True)
class Disclosed:
    disclosure: Disclosure
    complete: bool = True


def disclose_text(ctx: ServiceContext, *, kind: str, fmt: str, text: str,
                  target: str | Path | None, purpose: str | None, filter: str,
                  crime_refs: Sequence[str], rows: int,
                  stdout: TextIO | None = None) -> Disclosed:
    """Release ``text`` (already rendered) to ``target`` (a file) or ``stdout``,
    after the permission, the purpose and the committed event."""
    clean_purpose = authorised_purpose(ctx, kind, purpose)
    aside = AsideFile(kind, target) if target is not None else None
    shown = str(aside.path) if aside else (STANDARD_OUTPUT if stdout is not None else "download")
    disclosure = Disclosure(kind=kind, format=fmt, target=shown, filter=filter,
                            purpose=clean_purpose, rows=rows, crime_refs=tuple(crime_refs))
    try:
        if aside is not None:
            aside.handle.write(text)
            aside.handle.flush()
        record(ctx, disclosure)
    except BaseException:
        if aside is not None:
            aside.discard()
        raise
    if aside is not None:
        aside.release()
        return Disclosed(disclosure)
    if stdout is not None:
        return Disclosed(disclosure, complete=write_stream(ctx, disclosure, stdout, [text]))
    return Disclosed(disclosure)


def write_stream(ctx: ServiceContext, disclosure: Disclosure, stdout: TextIO,
                 chunks: Iterable[str], rows_of: Callable[[str], int] | None = None) -> bool:
    """Write ``chunks`` to ``stdout``; False (with a follow-up event) when the
    reader closed it first."""
    written = 0
    try:
        for chunk in chunks:
            stdout.write(chunk)
            written += rows_of(chunk) if rows_of else 0
        stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        shown = f" after about {written:,} rows" if rows_of else ""
        note(ctx, disclosure.kind, f"{disclosure.kind} to {STANDARD_OUTPUT}: the reader closed "
                                   f"it{shown} of {disclosure.rows:,}")
        return False
    return True


@contextmanager
def released_on_success(aside: AsideFile | AsideFolder) -> Iterator[None]:
    """Discard the aside copy on any error, else leave it to be released."""
    try:
        yield
    except BaseException:
        aside.discard()
        raise


def record_download(ctx: ServiceContext, *, kind: str, fmt: str, filename: str,
                    purpose: str | None, filter: str, crime_refs: Sequence[str],
                    rows: int) -> Disclosure:
    """A screen's save (a file saved by the terminal app, a download in the
    browser): the permission, the purpose and the event, committed; the screen
    delivers the text only when this returns."""
    clean_purpose = authorised_purpose(ctx, kind, purpose)
    disclosure = Disclosure(kind=kind, format=fmt, target=f"download {filename}", filter=filter,
                            purpose=clean_purpose, rows=rows, crime_refs=tuple(crime_refs))
    record(ctx, disclosure)
    return disclosure


# --- the app's one save path ---------------------------------------------------
def free_name(folder: Path, filename: str) -> Path:
    """``folder/filename``, or ``name-2.ext``, ``name-3.ext``… when taken (a
    save never overwrites an earlier one)."""
    path = folder / filename
    stem, suffix = path.stem, path.suffix
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path


def save_to_folder(ctx: ServiceContext, *, folder: str | Path, filename: str, kind: str,
                   fmt: str, text: str, purpose: str | None, filter: str,
                   crime_refs: Sequence[str], rows: int) -> Path:
    """A screen's save in the terminal: a real file in ``folder``, written
    as every disclosure is (permission, purpose, the event committed before
    the file is in place, 0600). Returns the full path; raises BadInput
    naming the folder when it is missing or cannot be written."""
    where = Path(folder).expanduser()
    if not where.is_dir():
        raise BadInput(f"save {filename}: folder {where} does not exist (set VIGIL_SAVE_DIR "
                       "to a folder you can write)")
    target = free_name(where.resolve(), filename)
    done = disclose_text(ctx, kind=kind, fmt=fmt, text=text, target=target, purpose=purpose,
                         filter=filter, crime_refs=crime_refs, rows=rows)
    return Path(done.disclosure.target)
