"""Qt views for callers: the Invite caller dialog with the link and its QR code."""

from widgets.callers.invite import Invitation, InviteDialog, IssuedLink

__all__ = ["Invitation", "InviteDialog", "IssuedLink"]
