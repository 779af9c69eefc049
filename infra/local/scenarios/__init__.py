"""Scenarios for the local cloud: a business's definitions and content as data, with a loader over HTTP."""
