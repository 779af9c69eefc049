"""The journeys use cases: definitions and lifecycle, entries, steps, sending, reactions, analytics, privacy."""
