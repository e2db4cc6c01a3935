"""Seatflow: the delivery platform of a service-outsourcing center."""

__version__ = "0.1.0"
