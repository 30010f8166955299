"""``manifest.json``: what kind of extract a folder holds.

An extract folder without a manifest is format 1 (the five files and columns
of the first format). Format 2 adds columns and files (app.rms.formats) and
carries a manifest naming:

- ``format_version``: 1 or 2;
- ``source_kind``: where the rows come from: ``live`` (a force's records
  management system or a live Vigil database), ``training`` (a Vigil training
  database), ``evaluation`` (a live-like database a force uses to evaluate
  Vigil) or ``synthetic`` (generated data). Training and synthetic rows go
  only into a training database; live and evaluation rows never do
  (:func:`kind_problem`);
- ``formula_protection``: how text cells were protected against spreadsheet
  formulas: ``none``, or ``apostrophe`` (a cell starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return was written with a leading ``'``),
  so that the import can undo it and the round trip gives back the text;
- ``files`` (written by ``vigil export``): each file's rows and SHA-256, so a
  folder that mixes the files of two exports is refused.

Problems are reported like the rest of the extract: ``manifest.json:LINE:
field: problem``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from app.sanitise import neutralise_formula, restore_formula

MANIFEST = "manifest.json"
FORMAT_VERSIONS = (1, 2)
CURRENT_FORMAT = 2
SOURCE_KINDS = ("live", "training", "evaluation", "synthetic")
FORMULA_PROTECTIONS = ("none", "apostrophe")
# a text cell starting with one of these is read as a formula by spreadsheets
FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})
_FIELDS = ("format", "format_version", "source_kind", "formula_protection", "files", "notice")
# what a training extract says of itself (its file names are fixed, so the manifest says it)
TRAINING_NOTICE = "TRAINING — synthetic data"
FORMAT_NAME = "vigil-rms-extract"
# which database kinds may take an extract of each source kind
TRAINING_SOURCES = frozenset({"training", "synthetic"})


@dataclass(frozen=True)
class Manifest:
    format_version: int = 1
    source_kind: str | None = None
    formula_protection: str = "none"
    present: bool = False
    # file name -> {"rows": n, "sha256": hex} as the export wrote them
    files: dict[str, dict[str, object]] | None = None

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "format": FORMAT_NAME, "format_version": self.format_version,
            "source_kind": self.source_kind, "formula_protection": self.formula_protection}
        if self.source_kind == "training":
            data["notice"] = TRAINING_NOTICE
        if self.files is not None:
            data["files"] = self.files
        return data

    def undo_protection(self, text: str) -> str:
        """The text as it was before the export protected it."""
        if self.formula_protection == "apostrophe":
            return restore_formula(text)
        return text


def protect_formula(text: str) -> str:
    """``text`` as an ``apostrophe`` export writes it (the inverse of
    :meth:`Manifest.undo_protection`)."""
    return neutralise_formula(text)


class ManifestError(ValueError):
    """Problems with manifest.json, each as ``manifest.json:line: field: problem``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if f'"{key}"' in line:
            return number
    return 1


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest; format 1 when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return Manifest()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError([f"{MANIFEST}:1: text: not UTF-8"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([f"{MANIFEST}:{exc.lineno}: json: cannot be read ({exc.msg})"]) from None
    if not isinstance(data, dict):
        raise ManifestError([f"{MANIFEST}:1: json: expected an object with "
                             f"{', '.join(_FIELDS)}"])
    problems: list[str] = []

    def fail(key: str, problem: str) -> None:
        problems.append(f"{MANIFEST}:{_line_of(text, key)}: {key}: {problem}")

    for key in data:
        if key not in _FIELDS:
            fail(key, f"unknown field (expected {', '.join(_FIELDS)})")
    version = data.get("format_version")
    if version is None:
        fail("format_version", "required, but missing")
    elif isinstance(version, bool) or version not in FORMAT_VERSIONS:
        fail("format_version", f"{version!r} is not a known format "
                               f"(expected {' or '.join(map(str, FORMAT_VERSIONS))})")
    kind = data.get("source_kind")
    if kind is None:
        fail("source_kind", f"required, but missing (expected {', '.join(SOURCE_KINDS)})")
    elif kind not in SOURCE_KINDS:
        fail("source_kind", f"unknown source kind {kind!r} (expected {', '.join(SOURCE_KINDS)})")
    protection = data.get("formula_protection", "none")
    if protection not in FORMULA_PROTECTIONS:
        fail("formula_protection", f"unknown protection {protection!r} "
                                   f"(expected {', '.join(FORMULA_PROTECTIONS)})")
    if "format" in data and data["format"] != FORMAT_NAME:
        fail("format", f"expected {FORMAT_NAME!r}")
    listed = data.get("files")
    if listed is not None and not (isinstance(listed, dict) and all(
            isinstance(v, dict) for v in listed.values())):
        fail("files", "expected each extract file with its rows and sha256")
    if problems:
        raise ManifestError(problems)
    return Manifest(format_version=int(version), source_kind=str(kind),  # type: ignore[arg-type]
                    formula_protection=str(protection), present=True, files=listed)


# A single extract file (``vigil export cases -o crimes.csv`` or to standard
# output) has no folder for a manifest: from a database that is not live its
# first line is this marker, naming the same facts, which the import reads as
# the folder's manifest (and skips before the header).
MARKER = "#vigil-rms-extract"


#: what a person reads at the end of the marker line (after `` # ``)
KIND_WORDS = {"training": "TRAINING — synthetic data",
              "evaluation": "EVALUATION — sample data (not live)",
              "synthetic": "SYNTHETIC — generated data (not live)"}


def marker_line(source_kind: str, formula_protection: str) -> str:
    """The first line of a single extract file from a ``source_kind``
    database, ending in words for people (``… # TRAINING — synthetic data``)."""
    words = KIND_WORDS.get(source_kind)
    return (f"{MARKER} format_version=1 source_kind={source_kind} "
            f"formula_protection={formula_protection}"
            + (f" # {words}" if words else "") + "\n")


def is_marker(text: str) -> bool:
    return text.lstrip("\ufeff").startswith(MARKER)


def read_marker(path: Path) -> Manifest | None:
    """The manifest a single file's marker line names, or None without one;
    :class:`ManifestError` when the marker cannot be read."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(1024).decode("utf-8", errors="replace")
    except OSError:
        return None
    if not is_marker(first):
        return None
    fields: dict[str, str] = {}
    facts = first.strip().lstrip("\ufeff").split(" # ", 1)[0]  # the words after are for people
    for word in facts.split()[1:]:
        key, _, value = word.partition("=")
        fields[key] = value
    problems: list[str] = []
    kind = fields.get("source_kind")
    if kind not in SOURCE_KINDS:
        problems.append(f"{path.name}:1: source_kind: unknown source kind {kind!r} "
                        f"(expected {', '.join(SOURCE_KINDS)})")
    protection = fields.get("formula_protection", "none")
    if protection not in FORMULA_PROTECTIONS:
        problems.append(f"{path.name}:1: formula_protection: unknown protection "
                        f"{protection!r} (expected {', '.join(FORMULA_PROTECTIONS)})")
    if fields.get("format_version", "1") != "1":
        problems.append(f"{path.name}:1: format_version: a single marked file is format 1")
    if problems:
        raise ManifestError(problems)
    return Manifest(format_version=1, source_kind=kind, formula_protection=protection,
                    present=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_problems(folder: Path, manifest: Manifest, files: tuple[str, ...]) -> list[str]:
    """A folder whose files are not exactly those the manifest lists, unchanged:
    it mixes the files of two exports (or one was edited since)."""
    if manifest.files is None:
        return []
    problems: list[str] = []
    for name in sorted(set(files) - set(manifest.files)):
        problems.append(f"{name}:1: file: not listed in {MANIFEST}: the folder mixes files of "
                        "different exports")
    for name, facts in sorted(manifest.files.items()):
        if name not in files:
            problems.append(f"{MANIFEST}:1: files: {name} is listed but missing from the folder")
        elif facts.get("sha256") != sha256_of(folder / name):
            problems.append(f"{name}:1: file: differs from the file {MANIFEST} lists (sha256): "
                            "the folder mixes files of different exports, or it was edited")
    return problems


def kind_problem(manifest: Manifest, database_kind: str | None) -> str | None:
    """Why rows of this source may not go into a database of ``database_kind``
    (training data never mixes with live data), or None."""
    if manifest.source_kind is None or database_kind is None:
        return None
    training_rows = manifest.source_kind in TRAINING_SOURCES
    if training_rows and database_kind != "training":
        return (f"{MANIFEST}:1: source_kind: the extract holds {manifest.source_kind} data "
                f"and this is a {database_kind} database: training data never goes into it")
    if not training_rows and database_kind == "training":
        return (f"{MANIFEST}:1: source_kind: the extract holds {manifest.source_kind} data "
                "and this is a training database of synthetic data only")
    return None


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` into ``folder`` (whole, or not at all)."""
    path = folder / MANIFEST
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest.as_json(), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
