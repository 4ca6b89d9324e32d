"""Typed errors with one-line messages a user understands.

Every failure the engine can meet ends as one of these. The ``message`` is what the
job row, the CLI and the status bar show, so it is one line, names the file or host
concerned, says what to do where there is something to do, and never contains a
secret. ``kind`` is a short stable code recorded in the ledger's ``error_kind``
column and used by tests and filters.
"""

from __future__ import annotations

from cvjd_desktop.schemas import TokenUsage


class CvjdError(Exception):
    """Base of every error the engine raises on purpose."""

    kind: str = "error"

    def __init__(self, message: str) -> None:
        # One line, always: the message ends up in table cells and JSON Lines.
        self.message = " ".join(str(message).split())
        super().__init__(self.message)


# --- documents -------------------------------------------------------------------


class DocumentError(CvjdError):
    """A file could not be turned into text; no provider call was made."""

    kind = "document"


class UnsupportedTypeError(DocumentError):
    kind = "unsupported_type"


class EmptyFileError(DocumentError):
    kind = "empty_file"


class CorruptFileError(DocumentError):
    kind = "corrupt_file"


class PasswordProtectedError(DocumentError):
    kind = "password_protected"


class NoTextLayerError(DocumentError):
    kind = "no_text"


class FileTooLargeError(DocumentError):
    kind = "too_large"


class FileUnreadableError(DocumentError):
    """Missing, a folder, no permission, a symlink loop: the OS refused the read."""

    kind = "unreadable"


# --- providers -------------------------------------------------------------------


class ProviderError(CvjdError):
    """A provider call failed. ``usage`` holds what the provider billed for it.

    Zeros when no answer came; the real counts when the model answered but the
    answer was unusable (those tokens were paid for and must reach the ledger).
    """

    kind = "provider"

    def __init__(self, message: str, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage if usage is not None else TokenUsage()


class ProviderUnavailableError(ProviderError):
    kind = "unavailable"


class ProviderTimeoutError(ProviderError):
    kind = "timeout"


class AuthenticationError(ProviderError):
    kind = "auth"


class ModelNotFoundError(ProviderError):
    kind = "model_not_found"


class RateLimitedError(ProviderError):
    kind = "rate_limited"


class ProviderServerError(ProviderError):
    kind = "server_error"


class ProviderRequestError(ProviderError):
    """The provider refused the request itself (400 and friends)."""

    kind = "bad_request"


class InvalidOutputError(ProviderError):
    kind = "invalid_output"


class OutputTruncatedError(ProviderError):
    kind = "truncated_output"


class CancelledError(ProviderError):
    kind = "cancelled"


# --- budgets ---------------------------------------------------------------------


class BudgetExceededError(CvjdError):
    """A budget limit is reached; the extraction was refused before any call."""

    kind = "budget"


# --- storage ---------------------------------------------------------------------


class LedgerError(CvjdError):
    """The environment failed the ledger (disk full, read-only folder): tell the user."""

    kind = "ledger"
