"""Qt views for sign-in: the sign-in dialog and lock screen, the idle watcher, and the dialog
that asks why a body cam is opened."""
