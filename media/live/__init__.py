"""Live feeds: the Feed model, sources opened with PyAV or received by WebRTC, each on its own
thread, the latest-frame slot, pictures converted at tile size, sound levels, statistics."""
