"""Asking a carrier about many numbers, a batch at a time, the way three APIs want it (Australia
Post, La Poste, GLS): each batch in one call, and a batch the carrier refuses as a whole (more ids
than it takes after all, a request it will not read) asked again one number at a time, so one
refused request cannot stall the numbers that share it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from shiptrack.carriers.base import Result, TrackRequest, TransportError


def distinct_numbers(requests: Sequence[TrackRequest]) -> list[str]:
    """The numbers asked about, each once, in the order asked."""
    return list(dict.fromkeys(request.tracking_number for request in requests))


async def ask_in_batches(
    numbers: Sequence[str],
    size: int,
    ask: Callable[[list[str]], Awaitable[dict[str, Result] | None]],
    *,
    refused_alone: str,
) -> dict[str, Result]:
    """A result for every number, asking ``ask`` about ``size`` numbers at a time.

    ``ask`` answers ``None`` when the carrier refused the request as a whole: its numbers are
    then asked one by one, and a single number refused that way is a :class:`TransportError`
    saying ``refused_alone`` (the request itself is wrong, not the number). Any transport error
    fails the whole batch, as every adapter's does.
    """
    results: dict[str, Result] = {}
    for start in range(0, len(numbers), size):
        chunk = list(numbers[start : start + size])
        answered = await ask(chunk)
        if answered is not None:
            results.update(answered)
            continue
        for number in chunk:
            single = await ask([number])
            if single is None:
                raise TransportError(refused_alone)
            results.update(single)
    return results
