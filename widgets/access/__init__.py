"""Qt views for sign-in: the sign-in dialog and lock screen, the idle watcher, and the dialog
that asks why a body cam is opened."""

from widgets.access.bodycam_reason import ReasonDialog
from widgets.access.idle import IdleWatcher
from widgets.access.sign_in import AccessBanner, LockScreen, SignInDialog

__all__ = ["AccessBanner", "IdleWatcher", "LockScreen", "ReasonDialog", "SignInDialog"]
