"""The in-memory implementation of the store port (``store.port``), for fast tests.

It follows the SQL store (``store.sql``) rule for rule; ``tests/store`` runs one contract suite
against both.
"""

from __future__ import annotations

from shiptrack.store.memory.store import MemoryStore, MemoryTransaction
from shiptrack.store.memory.tables import ConstraintViolation, ReadOnlyTransaction

__all__ = ["ConstraintViolation", "MemoryStore", "MemoryTransaction", "ReadOnlyTransaction"]
