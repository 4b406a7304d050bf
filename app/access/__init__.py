"""Who may do what: accounts and roles, the person at the workstation, a window's session
and idle lock, body cams' stated reasons, the viewing log, and the control socket's role checks."""

from app.access.accounts import AccountBook, AccountError, LastAdminError, UnknownAccountError
from app.access.bodycam import REASON_KEYS, ReasonError, reasons_text, stated_reason
from app.access.control_desk import Command, ControlDesk
from app.access.person import (
    EXIT_NOT_PERMITTED,
    How,
    NotPermittedError,
    Person,
    check_command,
    require,
    who_is_here,
)
from app.access.roles import Permission, Role
from app.access.session import WRONG_SIGN_IN, Session, SignInError
from app.access.viewing import CustodyWriter, Viewing, ViewingLog

__all__ = [
    "EXIT_NOT_PERMITTED",
    "REASON_KEYS",
    "WRONG_SIGN_IN",
    "AccountBook",
    "AccountError",
    "Command",
    "ControlDesk",
    "CustodyWriter",
    "How",
    "LastAdminError",
    "NotPermittedError",
    "Permission",
    "Person",
    "ReasonError",
    "Role",
    "Session",
    "SignInError",
    "UnknownAccountError",
    "Viewing",
    "ViewingLog",
    "check_command",
    "reasons_text",
    "require",
    "stated_reason",
    "who_is_here",
]
