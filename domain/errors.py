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


class Gone(DomainError):
    """The resource existed but is no longer kept, e.g. a job's result files after their
    retention period (HTTP 410)."""

    code = "gone"


class Unauthorized(DomainError):
    """No valid bearer token (HTTP 401)."""

    code = "unauthorized"


class TooManyRequests(DomainError):
    """The OU holds as much of something as a shared service allows (HTTP 429); it may try
    again after ``retry_after`` seconds (the ``Retry-After`` header)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)
