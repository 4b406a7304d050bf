"""Who may do what: accounts and roles, the person at the workstation, a window's session
and idle lock, body cams' stated reasons, the viewing log, and the control socket's role checks."""
