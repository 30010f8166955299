"""What a failed service call means to the person at the screen.

Every database call from a screen runs in one kind of worker
(``screens.base.ServiceCaller.call_service``) that posts a typed result or
failure; the App shows every failure through :func:`describe_failure`, by
kind, so a refusal reads the same on every screen:

- **busy**: the database is held by another writer (an import, another
  editor); nothing was saved, try again;
- **conflict**: the case changed since it was read; names the case and who
  changed it, and the screen offers a reload;
- **permission**: the role or area does not allow it, in words;
- **bad input**: what is wrong and where (a reference not found included);
- **unexpected**: a short message; the details go to the log, never a
  traceback on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy.exc import DBAPIError, OperationalError

from app.errors import ConflictError, DatabaseBusy, PermissionDenied, VigilError


class FailureKind(Enum):
    BUSY = "busy"
    CONFLICT = "conflict"
    PERMISSION = "permission"
    BAD_INPUT = "bad input"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Failure:
    """A failure as shown: its kind, a title, the message and how loud."""

    kind: FailureKind
    title: str
    message: str
    severity: str  # "warning" or "error" (Textual's notification severities)
    crime_ref: str | None = None  # the case a conflict is about (to reload)


# PostgreSQL: lock not available, deadlock detected, serialization failure
_BUSY_STATES = frozenset({"55P03", "40P01", "40001"})


def _busy(error: BaseException) -> bool:
    if isinstance(error, DatabaseBusy):
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig or error).lower()
        if "database is locked" in text or "database is busy" in text:
            return True
    if isinstance(error, DBAPIError):
        return getattr(error.orig, "sqlstate", None) in _BUSY_STATES
    return False


def failure_kind(error: BaseException) -> FailureKind:
    if _busy(error):
        return FailureKind.BUSY
    if isinstance(error, ConflictError):
        return FailureKind.CONFLICT
    if isinstance(error, PermissionDenied):
        return FailureKind.PERMISSION
    if isinstance(error, VigilError):
        return FailureKind.BAD_INPUT
    return FailureKind.UNEXPECTED


def describe_failure(error: BaseException) -> Failure:
    """The one presentation of ``error`` (see the module)."""
    kind = failure_kind(error)
    if kind is FailureKind.BUSY:
        said = str(error) if isinstance(error, DatabaseBusy) else \
            "The database is busy with another change; nothing was saved."
        return Failure(kind, "Database busy",
                       f"{said} Another editor or an import holds it: try again in a moment.",
                       "warning")
    if kind is FailureKind.CONFLICT:
        ref = getattr(error, "crime_ref", None)
        return Failure(kind, "Changed by someone else", str(error), "warning", crime_ref=ref)
    if kind is FailureKind.PERMISSION:
        return Failure(kind, "Not allowed", str(error), "error")
    if kind is FailureKind.BAD_INPUT:
        return Failure(kind, "Not done", str(error), "error")
    return Failure(kind, "Unexpected error",
                   f"Something went wrong ({type(error).__name__}); nothing was saved. "
                   "The details are in Vigil's log.", "error")
