"""Qt views for evidence: the tag dialog, and the Review window (search, player, timeline,
track)."""
