"""Carrier detection: which carriers a tracking number can belong to, from data.

The formats come from jkeen/tracking_number_data (MIT, vendored under ``data/`` with its licence
and source note): a regex per format, its check-digit algorithm and serial-number rules. Each
format is matched against the number (whitespace and dashes removed, upper-cased); every match is
a :class:`Candidate`, with whether its check digit validated and what shiptrack carrier code the
format belongs to (``None`` for couriers shiptrack cannot track yet). Pure: the data is read once,
at import, from the package.
"""

from shiptrack.domain.detection.engine import detect
from shiptrack.domain.detection.model import Candidate, Confidence, Detection, rank_for_account

__all__ = ["Candidate", "Confidence", "Detection", "detect", "rank_for_account"]
