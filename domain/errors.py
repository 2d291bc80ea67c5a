"""Domain errors. The API maps each class to one HTTP status in one handler."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the user can fix; ``message`` says what is wrong and how to fix it."""

    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(DomainError):
    """The request is malformed or names something that does not fit (HTTP 400)."""

    code = "invalid_request"


class InvalidCsv(DomainError):
    """The upload is a text file but not a usable CSV (HTTP 400)."""

    code = "invalid_csv"


class NotCsv(DomainError):
    """The upload is not a CSV at all: binary content, an archive, an image (HTTP 415)."""

    code = "unsupported_media_type"


class FileTooLarge(DomainError):
    """The upload is over the size limit (HTTP 413)."""

    code = "file_too_large"


class NotFound(DomainError):
    """The resource does not exist, expired, or belongs to another OU (HTTP 404)."""

    code = "not_found"


class Conflict(DomainError):
    """The resource is in a state that does not allow the command (HTTP 409)."""

    code = "conflict"


class Unauthorized(DomainError):
    """No valid bearer token (HTTP 401)."""

    code = "unauthorized"
