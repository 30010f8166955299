"""An extract's folder: which of its files are extract files (in the order
they are applied), its manifest, and whether it comes from a live or a
training database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import BadInput
from app.rms.formats import (
    COLUMNS,
    FILE_ORDER,
    FORMAT1_FILES,
    FORMAT2_FILES,
)
from app.rms.manifest import (
    MANIFEST,
    TRAINING_SOURCES,
    Manifest,
    ManifestError,
    file_problems,
    read_manifest,
    read_marker,
)

LIVE_SOURCE = "live"
TRAINING_SOURCE = "training"


@dataclass(frozen=True)
class ExtractFiles:
    """The extract files found in a folder, in the order they are applied.
    ``source`` is where the extract comes from: a Vigil manifest says live or
    training; a folder without one (an RMS extract, or a Vigil export before
    manifests) is a live extract; the manifest also says how the export
    guarded formula prefixes, which the import takes off (app.rms.formats)."""

    folder: Path
    files: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    manifest: Manifest = Manifest()
    # problems with manifest.json, or format 2 files in a format 1 folder
    problems: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """``training`` for rows of a training (or synthetic) database, else ``live``."""
        kind = self.manifest.source_kind
        return TRAINING_SOURCE if kind in TRAINING_SOURCES else LIVE_SOURCE

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def format_version(self) -> int:
        return self.manifest.format_version


def find_extract_files(folder: Path | str) -> ExtractFiles:
    """The extract files in ``folder`` and its manifest (format 1 without one);
    :class:`BadInput` when there are no extract files."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise BadInput(f"import: {path} does not exist")
    if not path.is_dir():
        raise BadInput(f"import: {path} is not a folder (give the folder holding the CSV files)")
    present = {p.name for p in path.iterdir() if p.is_file()}
    files = tuple(name for name in FILE_ORDER if name in present)
    if not files:
        raise BadInput(f"import: {path} holds none of {', '.join(FORMAT1_FILES)} "
                       f"(format 2 also {', '.join(FORMAT2_FILES)})")
    ignored = tuple(sorted(name for name in present
                           if name.lower().endswith(".csv") and name not in COLUMNS))
    problems: list[str] = []
    try:
        manifest = read_manifest(path)
    except ManifestError as exc:
        manifest = Manifest()
        problems.extend(exc.problems)
    if not manifest.present and not problems:
        # single files exported from a database that is not live carry a marker line
        marked: dict[str, Manifest] = {}
        for name in files:
            try:
                found = read_marker(path / name)
            except ManifestError as exc:
                problems.extend(exc.problems)
                continue
            if found is not None:
                marked[name] = found
        if marked:
            kinds = {m.source_kind for m in marked.values()}
            unmarked = [name for name in files if name not in marked]
            if len(kinds) > 1 or unmarked:
                problems.append(f"{sorted(marked)[0]}:1: source_kind: the folder mixes files "
                                f"of different databases ({', '.join(sorted(marked))} marked "
                                f"{', '.join(sorted(str(k) for k in kinds))}"
                                + (f"; {', '.join(unmarked)} unmarked" if unmarked else "")
                                + ")")
            else:
                manifest = next(iter(marked.values()))
    if manifest.format_version < 2 and not problems:
        for name in files:
            if name in FORMAT2_FILES:
                problems.append(f"{name}:1: header: a format 2 file; give the folder a "
                                f"{MANIFEST} with format_version 2")
    # a folder mixing files of two exports is refused (the manifest lists each
    # file's SHA-256)
    problems.extend(file_problems(path, manifest, files))
    return ExtractFiles(folder=path.resolve(), files=files, ignored=ignored, manifest=manifest,
                        problems=tuple(problems))
