"""Helpers for tests of calcwire and of programs built on it (as ``structlog.testing``).

- :mod:`calcwire.testing.badfiles`: every kind of bad upload, with the reason it must get.

Nothing in calcwire's runtime imports this package.
"""
