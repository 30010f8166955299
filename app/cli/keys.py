"""`vigil keys [--check]`: every key binding of the terminal app, by id, with
the keys it has now (after the user's keys.toml), so a binding can be
remapped; ``--check`` only validates the file. The file is named by
``VIGIL_KEYMAP``, else ``keys.toml`` in the user's configuration folder::

    [keys]
    "dmm.decide" = "D"
"""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv
from app.keymap import keymap_path, load_keymap

HELP = "list the terminal app's key bindings by id, and check the user's keys.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="only check the keys file (exit 2 naming the problem)")


def binding_ids() -> dict[str, tuple[str, str, str]]:
    """id -> (where, keys, description) for every binding with an id."""
    from textual.binding import Binding

    from app.app import VigilApp
    from app.widgets.table import VigilTable
    from screens import (
        action_plan,
        approvals,
        assurance,
        base,
        breaches,
        case,
        case_forms,
        dialogs,
        dmm,
        dmm_dialogs,
        help,
        home,
        sampling,
        screening,
        search,
        worklist,
    )

    owners: list[tuple[str, type]] = [("app", VigilApp), ("table", VigilTable)]
    for module in (home, dmm, breaches, search, screening, assurance, approvals, worklist,
                   sampling, action_plan, case, help, dialogs, case_forms, dmm_dialogs):
        for value in vars(module).values():
            if isinstance(value, type) and getattr(value, "__module__", "") == module.__name__ \
                    and "BINDINGS" in vars(value):
                owners.append((value.__name__, value))
    owners.append(("every screen", base.VigilScreen))
    found: dict[str, tuple[str, str, str]] = {}
    for where, owner in owners:
        for binding in vars(owner).get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, (where, binding.key, binding.description))
    return found


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ids = binding_ids()
    keymap = load_keymap(known_ids=set(ids))
    path = keymap.path or keymap_path()
    if args.check:
        state = "ok" if keymap.path else "absent (the shipped keys apply)"
        print(f"{path}: {state}; {len(keymap.keys)} binding(s) remapped")
        return 0
    print(f"Keys file: {path}{'' if keymap.path else ' (absent: the shipped keys apply)'}")
    width = max(len(i) for i in ids)
    for binding_id in sorted(ids):
        where, keys, description = ids[binding_id]
        now = keymap.keys.get(binding_id, keys)
        mark = " (remapped)" if binding_id in keymap.keys else ""
        print(f"{binding_id:<{width}}  {now:<22} {description or '—'}{mark}")
    return 0
