"""Identity use cases: recording, merges, reads, profile changes, privacy and contact imports."""
