"""Real services the tests start themselves (PostgreSQL from Debian's packages)."""
