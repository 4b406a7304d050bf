"""Qt views for callers: the Invite caller dialog with the link and its QR code."""
