"""The detection engine over the vendored data (being written: issue 15)."""

from __future__ import annotations

from shiptrack.domain.detection.model import Detection


def detect(raw: str) -> Detection:
    """Every format ``raw`` matches, ranked (see :class:`Detection`). Never raises for any
    string: a number no format matches has no candidates."""
    raise NotImplementedError("carrier detection is being written (issue 15)")
