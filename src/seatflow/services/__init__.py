"""Use cases. Services take an open connection; the request, job or CLI command owns the transaction."""
