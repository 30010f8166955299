"""Run the TUI headless in a fresh process and report, as JSON on stdout:
seconds from process start to the first DMM rows, the time of 100 cursor
moves, and peak memory. ``--baseline`` does the same with an empty Textual
app holding a plain table, the floor the product is compared against."""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def _peak_mb() -> float:
    """This process's own peak resident memory. VmHWM belongs to the process
    image; ru_maxrss would carry over the parent's peak across fork and exec."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _first_rows(app, pilot, table_query: str) -> float:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable

    while True:
        await pilot.pause(0.01)
        tables = [t for t in app.screen.query(DataTable) if t.row_count > 0]
        if tables:
            tables[0].focus()
            return time.perf_counter() - STARTED


async def _moves(pilot) -> float:  # type: ignore[no-untyped-def]
    begin = time.perf_counter()
    for _ in range(100):
        await pilot.press("down")
    await pilot.pause()
    return time.perf_counter() - begin


async def product(args: argparse.Namespace) -> dict[str, float]:
    # the path `vigil` itself follows: its entry point reads the command line
    # (opening the app imports no subcommand), opens the context, then builds
    # the app (which starts the DMM's first page before importing the interface)
    import tui
    from app.cli.base import CliEnv
    from app.cli.open_tui import build_app

    argv = ["--db", args.db, "--user", args.user, *(["--now", args.now] if args.now else [])]
    opening = tui.opening_the_app(argv)
    assert opening is not None, argv
    env = CliEnv.from_args(opening)
    context = env.context(training=False)
    app = build_app(context, start="dmm", first_page_in_child=True)
    async with app.run_test(size=(160, 48)) as pilot:
        first = await _first_rows(app, pilot, "DataTable")
        moves = await _moves(pilot)
    env.close()
    return {"first_rows_s": first, "moves_s": moves, "peak_mb": _peak_mb()}


async def baseline(args: argparse.Namespace) -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row")
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            for column in ("a", "b", "c", "d", "e", "f"):
                table.add_column(column, width=14)
            for row in range(args.rows):
                table.add_row(*(f"{row}-{c}" for c in range(6)))

    app = Empty()
    async with app.run_test(size=(160, 48)) as pilot:
        first = await _first_rows(app, pilot, "DataTable")
        moves = await _moves(pilot)
    return {"first_rows_s": first, "moves_s": moves, "peak_mb": _peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--user", default="supervisor.northern")
    parser.add_argument("--now")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(baseline(args) if args.baseline else product(args))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
