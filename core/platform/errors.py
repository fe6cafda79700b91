"""Domain exceptions. Each carries a Chinese message a page can show as it is."""


class DomainError(Exception):
    """Base of every error a user can cause; ``str(e)`` is the Chinese message."""


class NotAllowed(DomainError):
    """The acting user lacks the role or belongs to another village."""


class NotFound(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class BackupError(InvalidInput):
    """A backup that cannot be made, checked or restored."""


class ImageTooLarge(InvalidInput):
    """A photo declares more pixels than may be decoded (an image bomb or a huge scan)."""


class InsufficientPoints(DomainError):
    pass


class OutOfStock(DomainError):
    pass


class AlreadyDone(DomainError):
    """The write was already made (same cause / same cart / decided twice)."""


class LoginFailed(DomainError):
    pass


class AccountLocked(LoginFailed):
    pass
