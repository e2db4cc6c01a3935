"""Pure domain logic: no web, no database."""
