"""Keys a user remaps: a TOML file of binding ids and keys.

``VIGIL_KEYMAP`` names the file; otherwise ``keys.toml`` in the user's
configuration folder (``~/.config/vigil/keys.toml`` on Linux), if present::

    [keys]
    "dmm.decide" = "D"
    "table.page_down" = "pagedown,ctrl+f"

Every binding of every screen has an id (``vigil keys`` lists them, with
their keys). A bad file is reported as ``file: key: problem`` and ignored
(the shipped keys stay), never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir

from app.errors import BadInput


def keymap_path() -> Path:
    named = os.environ.get("VIGIL_KEYMAP")
    if named:
        return Path(named)
    return Path(user_config_dir("vigil", appauthor=False)) / "keys.toml"


@dataclass(frozen=True)
class Keymap:
    path: Path | None
    keys: dict[str, str] = field(default_factory=dict)


def load_keymap(path: Path | None = None, *, known_ids: set[str] | None = None) -> Keymap:
    """The user's remapped keys; raises BadInput naming file, key and problem."""
    path = path or keymap_path()
    if not path.exists():
        if os.environ.get("VIGIL_KEYMAP"):
            raise BadInput(f"{path}: no such file (VIGIL_KEYMAP)")
        return Keymap(None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None
    unknown_tables = sorted(set(data) - {"keys"})
    if unknown_tables:
        raise BadInput(f"{path}: {unknown_tables[0]}: unknown table (expected [keys])")
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise BadInput(f"{path}: keys: expected a table of binding id = \"keys\"")
    keys: dict[str, str] = {}
    for binding_id, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f"{path}: keys.{binding_id}: expected keys as text, e.g. \"ctrl+d\"")
        if known_ids is not None and binding_id not in known_ids:
            raise BadInput(f"{path}: keys.{binding_id}: no binding has this id "
                           "(vigil keys lists them)")
        keys[binding_id] = ",".join(part.strip() for part in value.split(","))
    return Keymap(path, keys)
