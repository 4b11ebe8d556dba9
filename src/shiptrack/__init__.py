"""shiptrack: self-hosted package tracking, wire-compatible with the ShipEngine tracking API."""

__version__ = "0.1.0"
