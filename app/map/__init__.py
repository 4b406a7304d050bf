"""The map: where tiles come from and the loopback server that hands them to Qt, and every
feed's track of positions."""
