"""Storage: tables, engine and the repositories that hold every SQL statement."""
