"""Evidence: recording into hashed segments, the ledger and the custody log, clips and tagging,
retention and recovery, signing, export to a bundle and its check, and the Review window's store."""
