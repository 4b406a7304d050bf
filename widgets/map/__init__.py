"""Qt views for the map: the QtLocation panel and the markers it draws."""
