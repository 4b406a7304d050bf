"""Qt views: the wall and its tiles, dialogs. They show media/ models and never reach into app/."""
