"""The course-of-conduct timeline: a horizontal date axis with one lane each
for crimes, breaches, risk assessments, orders and SPO decisions, then the
dated list of the same events.

Drawn with Rich renderables (:class:`TimelineRenderable` lays itself out to
the width it is given), so the breach board, the case record and exports can
all show it. :class:`TimelineView` is the Textual widget; its colours come
from component classes styled with theme variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from app.dates import format_local
from app.sanitise import clean_text
from models.enums import ORDERS_IN_FORCE


class EventLike(Protocol):
    at: datetime
    kind: str
    ref: str
    title: str
    detail: str
    level: str | None
    stage: str | None


class TimelineLike(Protocol):
    victim_ref: str
    suspect_ref: str | None
    events: Sequence[EventLike]


# lane key, label, mark
LANES: tuple[tuple[str, str, str], ...] = (
    ("crime", "Crimes", "●"),
    ("breach", "Breaches", "▲"),
    ("risk", "Risk", "◆"),
    ("order", "Orders", "■"),
    ("spo_decision", "SPO", "◇"),
)
LANE_MARKS = {key: mark for key, _label, mark in LANES}
LABEL_WIDTH = 10
ORDER_SPAN = "─"
EMPTY = "·"
_ORDER_ENDS = frozenset({"refused", "discharged", "expired", "expiry"})


# --- layout (pure) -------------------------------------------------------------


def column_for(at: datetime, start: datetime, end: datetime, width: int) -> int:
    """The column (0..width-1) of ``at`` on an axis from ``start`` to ``end``."""
    if width <= 1 or end <= start:
        return 0
    share = (at - start) / (end - start)
    return min(width - 1, max(0, round(share * (width - 1))))


@dataclass(frozen=True)
class LaneCell:
    text: str  # the mark, a count ("2".."9", "+"), the order span or the empty dot
    style_key: str  # which style draws it (e.g. "breach", "risk-high", "axis")


def lay_out_lanes(events: Sequence[EventLike], width: int, start: datetime,
                  end: datetime) -> dict[str, list[LaneCell]]:
    """One row of ``width`` cells per lane. Several events of a lane in one
    column show their count; an order in force draws a line from its grant to
    its end (or to the end of the axis)."""
    lanes = {key: [LaneCell(EMPTY, "empty") for _ in range(width)] for key, _l, _m in LANES}
    spans: dict[str, list[int | None]] = {}
    for event in events:
        if event.kind == "order" and event.stage in ("granted",):
            span = spans.setdefault(event.ref, [None, None])
            span[0] = column_for(event.at, start, end, width)
        elif event.kind == "order" and event.stage in _ORDER_ENDS:
            span = spans.setdefault(event.ref, [None, None])
            span[1] = column_for(event.at, start, end, width)
    in_force = {e.ref for e in events if e.kind == "order" and e.level in ORDERS_IN_FORCE}
    for ref, (first, last) in spans.items():
        if first is None:
            continue
        if last is None:
            last = width - 1 if ref in in_force else first
        for col in range(first, last + 1):
            lanes["order"][col] = LaneCell(ORDER_SPAN, "order")
    counts: dict[tuple[str, int], int] = {}
    for event in events:
        if event.kind not in lanes:
            continue
        col = column_for(event.at, start, end, width)
        n = counts.get((event.kind, col), 0) + 1
        counts[(event.kind, col)] = n
        style = event.kind
        if event.kind == "risk":
            style = f"risk-{event.level or 'standard'}"
        text = LANE_MARKS[event.kind] if n == 1 else (str(n) if n < 10 else "+")
        lanes[event.kind][col] = LaneCell(text, style)
    return lanes


def axis_labels(start: datetime, end: datetime, width: int) -> list[tuple[int, str]]:
    """Dates to print under the axis: start, end and (when there is room) the middle."""
    fmt = "%d/%m/%y"
    labels = [(0, format_local(start, fmt))]
    if width >= 40 and end > start:
        labels.append((width // 2, format_local(start + (end - start) / 2, fmt)))
    if end > start and width >= 20:
        labels.append((width - 1, format_local(end, fmt)))
    return labels


# --- rendering (Rich) --------------------------------------------------------------

DEFAULT_STYLES: dict[str, Style] = {
    "crime": Style(bold=True),
    "breach": Style(bold=True),
    "risk-high": Style(bold=True),
    "risk-medium": Style(),
    "risk-standard": Style(dim=True),
    "order": Style(),
    "spo_decision": Style(),
    "empty": Style(dim=True),
    "axis": Style(dim=True),
    "label": Style(bold=True),
    "title": Style(bold=True),
    "muted": Style(dim=True),
}


class TimelineRenderable:
    """A timeline laid out to the width Rich gives it."""

    def __init__(self, timeline: TimelineLike | None, *, styles: dict[str, Style] | None = None,
                 list_limit: int | None = 40, end: datetime | None = None,
                 empty_text: str = "Select a breach to see the course of conduct.") -> None:
        self.timeline = timeline
        self.styles = {**DEFAULT_STYLES, **(styles or {})}
        self.list_limit = list_limit
        self.end = end
        self.empty_text = empty_text

    def _style(self, key: str) -> Style:
        return self.styles.get(key, Style())

    def heading(self) -> Text:
        timeline = self.timeline
        assert timeline is not None
        events = timeline.events
        text = Text()
        text.append("Course of conduct ", self._style("title"))
        text.append(clean_text(f"{timeline.victim_ref} ← {timeline.suspect_ref or 'unknown suspect'}",
                               keep_newlines=False), self._style("label"))
        counts = []
        for key, label, mark in LANES:
            n = sum(1 for e in events if e.kind == key)
            if n:
                counts.append((f"  {mark} ", key, f"{label.lower()} {n}"))
        for mark, key, words in counts:
            style = self._style("risk-high" if key == "risk" else key)
            text.append(mark, style)
            text.append(words, self._style("muted"))
        return text

    def axis_lines(self, width: int) -> list[Text]:
        timeline = self.timeline
        assert timeline is not None
        events = list(timeline.events)
        start = events[0].at
        end = max(events[-1].at, self.end or events[-1].at)
        plot = max(10, width - LABEL_WIDTH - 1)
        lanes = lay_out_lanes(events, plot, start, end)
        lines: list[Text] = []
        for key, label, _mark in LANES:
            line = Text(f"{label:<{LABEL_WIDTH}} ", self._style("label"))
            for cell in lanes[key]:
                line.append(cell.text, self._style(cell.style_key))
            lines.append(line)
        labels = axis_labels(start, end, plot)
        ticks = ["─"] * plot
        for col, _ in labels:
            ticks[col] = "┴" if 0 < col < plot - 1 else ("└" if col == 0 else "┘")
        lines.append(Text(" " * (LABEL_WIDTH + 1) + "".join(ticks), self._style("axis")))
        under = [" "] * plot
        for col, label in labels:
            at = max(0, min(col - len(label) // 2, plot - len(label)))
            if col == 0:
                at = 0
            elif col == plot - 1:
                at = plot - len(label)
            for i, ch in enumerate(label):
                if 0 <= at + i < plot:
                    under[at + i] = ch
        lines.append(Text(" " * (LABEL_WIDTH + 1) + "".join(under), self._style("axis")))
        return lines

    def dated_list(self) -> list[Any]:
        timeline = self.timeline
        assert timeline is not None
        events = list(timeline.events)
        hidden = 0
        if self.list_limit is not None and len(events) > self.list_limit:
            hidden = len(events) - self.list_limit
            events = events[-self.list_limit:]
        table = Table(box=None, show_header=True, header_style=self._style("label"),
                      pad_edge=False, expand=True)
        table.add_column("When", width=16, no_wrap=True)
        table.add_column("", width=1, no_wrap=True)
        table.add_column("What", ratio=2)
        table.add_column("Detail", ratio=3)
        for event in events:
            style = self._style(f"risk-{event.level or 'standard'}" if event.kind == "risk"
                                else event.kind)
            table.add_row(
                Text(format_local(event.at)),
                Text(LANE_MARKS.get(event.kind, "•"), style),
                Text(clean_text(event.title, keep_newlines=False)),
                Text(clean_text(event.detail, keep_newlines=False), self._style("muted")),
            )
        parts: list[Any] = []
        if hidden:
            parts.append(Text(f"… {hidden} earlier events not listed (all are on the axis)",
                              self._style("muted")))
        parts.append(table)
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.timeline is None or not self.timeline.events:
            yield Text(self.empty_text if self.timeline is None else
                       "No crimes, breaches, assessments or orders recorded for this pair.",
                       self._style("muted"))
            return
        width = options.max_width
        yield Group(self.heading(), *self.axis_lines(width), Text(""), *self.dated_list())


# --- the widget ---------------------------------------------------------------------


class TimelineView(Widget):
    """Shows one :class:`~app.services.pair_timeline.Timeline` (or anything shaped like it)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--crime", "timeline--breach", "timeline--risk-high", "timeline--risk-medium",
        "timeline--risk-standard", "timeline--order", "timeline--spo", "timeline--axis",
        "timeline--label", "timeline--muted",
    }
    DEFAULT_CSS = """
    TimelineView { height: auto; padding: 0 1; }
    TimelineView > .timeline--crime { color: $primary; text-style: bold; }
    TimelineView > .timeline--breach { color: $error; text-style: bold; }
    TimelineView > .timeline--risk-high { color: $error; }
    TimelineView > .timeline--risk-medium { color: $warning; }
    TimelineView > .timeline--risk-standard { color: $success; }
    TimelineView > .timeline--order { color: $accent; }
    TimelineView > .timeline--spo { color: $secondary; }
    TimelineView > .timeline--axis { color: $text-muted; }
    TimelineView > .timeline--label { text-style: bold; }
    TimelineView > .timeline--muted { color: $text-muted; }
    """

    def __init__(self, timeline: TimelineLike | None = None, *, end: datetime | None = None,
                 list_limit: int | None = 40, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.timeline = timeline
        self.end = end
        self.list_limit = list_limit

    def show(self, timeline: TimelineLike | None, *, end: datetime | None = None) -> None:
        """Show ``timeline`` (None clears it); ``end`` extends the axis (e.g. to now)."""
        self.timeline = timeline
        self.end = end
        self.clear_cached_dimensions()
        self.refresh(layout=True)

    def _styles(self) -> dict[str, Style]:
        names = {
            "crime": "timeline--crime", "breach": "timeline--breach",
            "risk-high": "timeline--risk-high", "risk-medium": "timeline--risk-medium",
            "risk-standard": "timeline--risk-standard", "order": "timeline--order",
            "spo_decision": "timeline--spo", "axis": "timeline--axis", "empty": "timeline--axis",
            "label": "timeline--label", "title": "timeline--label", "muted": "timeline--muted",
        }
        return {key: self.get_component_rich_style(component, partial=True)
                for key, component in names.items()}

    def render(self) -> TimelineRenderable:  # type: ignore[override]
        return TimelineRenderable(self.timeline, styles=self._styles(), end=self.end,
                                  list_limit=self.list_limit)


def plain_text(timeline: TimelineLike | None, width: int = 100, **kwargs: Any) -> str:
    """The timeline as plain text (exports, tests)."""
    import io

    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(TimelineRenderable(timeline, **kwargs))
    return console.export_text()


