"""Where a feed is: MISB ST 0601 KLV from drones, and geodesy on the WGS84 ellipsoid."""
