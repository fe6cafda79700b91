"""Keeping the data safe: backups and checked restores (SQLite and PostgreSQL) and
the invariant checks (verify)."""
