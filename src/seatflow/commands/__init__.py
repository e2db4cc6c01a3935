"""The command groups of the `seatflow` CLI; `seatflow.cli` assembles them."""
