"""Qt views for the wall: tiles, the grid that lays them out, the further screens' windows,
the alert list, and sound out."""
