"""Background jobs: in-process threads on one node; the same functions run as workers at scale."""
