"""Errors the services raise; the CLI and screens turn them into messages."""

from __future__ import annotations


class VigilError(Exception):
    """Base for errors shown to the user as a message, never a traceback."""

    exit_code = 1


class BadInput(VigilError):
    """The user's input is wrong: names what and where (exit code 2)."""

    exit_code = 2


class PolicyError(BadInput):
    """The policy file is invalid; the message names the key."""


class DatabaseUnavailable(BadInput):
    """The database URL cannot be used."""


class FirstRun(VigilError):
    """A command on a database that does not exist yet, or holds no users:
    the message says exactly what to run next."""


class PermissionDenied(VigilError):
    """The current user's role or area does not allow the action (audited)."""


class NotFound(VigilError):
    """A reference (crime, order, breach, user) does not exist."""


class ConflictError(VigilError):
    """Another user changed the record since it was read (optimistic lock).
    ``crime_ref`` names the case to reload, ``changed_by`` who changed it
    (when known)."""

    def __init__(self, message: str, *, crime_ref: str | None = None,
                 changed_by: str | None = None) -> None:
        super().__init__(message)
        self.crime_ref = crime_ref
        self.changed_by = changed_by


class DatabaseBusy(VigilError):
    """Another write held the database past the wait allowed; nothing was saved."""


class DatabaseKindMismatch(VigilError):
    """A training database opened as live, or a live one as training."""
