"""Storage: tables, engine and the repositories that hold every SQL statement."""

# The attendance tables (store/attendance.py) join the shared metadata of tables.py whenever
# anything of the store is imported, so the schema seen by Alembic and the tests is always whole.
from . import acceptance as _acceptance  # noqa: F401  (inspections, migration 0008)
from . import attendance as _attendance  # noqa: F401
