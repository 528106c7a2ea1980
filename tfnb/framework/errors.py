"""Typed errors (``tf.errors.*``) that name the op and where the user created it.

Run-time failures are ``OpError`` subclasses carrying the failing ``op``; their
message says the op's name and type, its inputs' shapes and dtypes, and the
file/line (or notebook cell) of its creation, so a person can act on it.
"""

__all__ = [
    "OpError", "CancelledError", "UnknownError", "InvalidArgumentError", "DeadlineExceededError",
    "NotFoundError", "AlreadyExistsError", "PermissionDeniedError", "UnauthenticatedError",
    "ResourceExhaustedError", "FailedPreconditionError", "AbortedError", "OutOfRangeError",
    "UnimplementedError", "InternalError", "UnavailableError", "DataLossError",
]

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """A failure while running the graph; ``op`` is the Operation that failed (or None).

    Args:
        node_def: kept for TF1 signature compatibility (tfnb passes None).
        op: the failing ``Operation`` or None.
        message: what went wrong.
    """

    error_code = UNKNOWN

    def __init__(self, node_def, op, message, error_code=None, *args):
        super().__init__(message)
        self._node_def = node_def
        self._op = op
        self._message = message
        if error_code is not None:
            self.error_code = error_code

    @property
    def message(self):
        return self._message

    @property
    def op(self):
        return self._op

    @property
    def node_def(self):
        return self._node_def

    def __str__(self):
        return self._message

    def __reduce__(self):
        return type(self), (None, None, self._message)


def _subclass(name, code, doc):
    cls = type(name, (OpError,), {"__doc__": doc, "error_code": code})

    def __init__(self, node_def, op, message, *args):
        OpError.__init__(self, node_def, op, message, code)

    cls.__init__ = __init__
    return cls


CancelledError = _subclass("CancelledError", CANCELLED, "The step was cancelled.")
UnknownError = _subclass("UnknownError", UNKNOWN, "An error of no other kind.")
InvalidArgumentError = _subclass("InvalidArgumentError", INVALID_ARGUMENT,
                                 "An op received an invalid argument (shape, value, feed).")
DeadlineExceededError = _subclass("DeadlineExceededError", DEADLINE_EXCEEDED,
                                  "A deadline expired before the step completed.")
NotFoundError = _subclass("NotFoundError", NOT_FOUND, "A requested entity (file, name) was not found.")
AlreadyExistsError = _subclass("AlreadyExistsError", ALREADY_EXISTS, "An entity already exists.")
PermissionDeniedError = _subclass("PermissionDeniedError", PERMISSION_DENIED,
                                  "The caller may not perform the operation.")
UnauthenticatedError = _subclass("UnauthenticatedError", UNAUTHENTICATED, "No valid credentials.")
ResourceExhaustedError = _subclass("ResourceExhaustedError", RESOURCE_EXHAUSTED,
                                   "A resource (memory, quota) is exhausted.")
FailedPreconditionError = _subclass("FailedPreconditionError", FAILED_PRECONDITION,
                                    "The system is not in a state to run the op "
                                    "(e.g. an uninitialized variable was read).")
AbortedError = _subclass("AbortedError", ABORTED, "The operation was aborted.")
OutOfRangeError = _subclass("OutOfRangeError", OUT_OF_RANGE,
                            "An iteration went past the valid range (e.g. a closed, empty queue).")
UnimplementedError = _subclass("UnimplementedError", UNIMPLEMENTED,
                               "The operation is not implemented (e.g. no kernel for a device).")
InternalError = _subclass("InternalError", INTERNAL, "An invariant of the system was broken.")
UnavailableError = _subclass("UnavailableError", UNAVAILABLE, "The runtime is unavailable.")
DataLossError = _subclass("DataLossError", DATA_LOSS, "Unrecoverable data loss or corruption.")

_CODE_TO_CLASS = {c.error_code: c for c in (
    CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError, NotFoundError,
    AlreadyExistsError, PermissionDeniedError, UnauthenticatedError, ResourceExhaustedError,
    FailedPreconditionError, AbortedError, OutOfRangeError, UnimplementedError, InternalError,
    UnavailableError, DataLossError)}


def exception_type_from_error_code(code):
    return _CODE_TO_CLASS[code]


def error_code_from_exception_type(cls):
    return cls.error_code
