"""REST API under /api/v1: thin routes that parse, authorize, call a service and render."""
