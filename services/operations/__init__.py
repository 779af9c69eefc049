"""Operations of the platform itself (not a service with a manifest): what its alarms set in motion."""
