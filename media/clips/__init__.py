"""Recorded clips: cutting them from segments by stream copy, reading and playing them frame by
frame, their frame index, and stills."""
