"""Recording without re-encoding where the codec allows: packets into self-contained MPEG-TS
segments, and a caller's decoded video encoded once."""
