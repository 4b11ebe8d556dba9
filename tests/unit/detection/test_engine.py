"""The engine's contract: normalisation, ranking, tracking URLs, never raising (hypothesis), and
the answer independent of spacing, dashes and case."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack.domain.detection import Candidate, detect, rank_for_account
from shiptrack.domain.detection.engine import normalise
from shiptrack.domain.detection.formats import FORMATS, courier_files, length_bounds

VALID = sorted(
    {
        normalise(number)
        for courier in courier_files()
        for definition in courier["tracking_numbers"]
        for number in definition["test_numbers"]["valid"]
    }
)


def test_the_number_is_normalised() -> None:
    assert normalise(" 1z5r 8939-0357\t5671\u201327\n") == "1Z5R89390357567127"
    found = detect("1z 5r8 939 0357 567127")
    assert found.tracking_number == "1Z5R89390357567127"
    assert found.candidates[0].tracking_url == (
        "https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z5R89390357567127"
    )


def test_a_format_without_a_tracking_url_gives_none() -> None:
    (found,) = detect("TBA000000000000").candidates
    assert found.tracking_url is None


def test_nothing_matches_nothing() -> None:
    assert detect("").candidates == ()
    assert detect("not a number").candidates == ()
    assert detect("-" * 2000).tracking_number == ""


def test_candidates_are_grouped_high_medium_low_in_data_order() -> None:
    order = {f.format_id: i for i, f in enumerate(FORMATS)}
    rank = {"high": 0, "medium": 1, "low": 2}
    for number in VALID:
        candidates = detect(number).candidates
        keys = [(rank[c.confidence], order[c.format_id]) for c in candidates]
        assert keys == sorted(keys), number


def test_every_valid_number_fits_its_formats_length_bounds() -> None:
    for fmt in FORMATS:
        assert fmt.min_length > 0
        assert fmt.max_length is not None
    assert length_bounds("1Z[0-9]{16}") == (18, 18)
    assert length_bounds("A+") == (1, None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1024))
def test_detect_never_raises(raw: str) -> None:
    found = detect(raw)
    assert found.tracking_number == normalise(raw)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.sampled_from([" ", "-", "  ", "\t", "\u2013"]), min_size=40, max_size=40),
    st.booleans(),
)
def test_detection_ignores_spacing_dashes_and_case(
    number: str, separators: list[str], lower: bool
) -> None:
    spaced = "".join(char + sep for char, sep in zip(number, separators, strict=False))
    spaced += number[len(separators) :]
    assert detect(spaced.lower() if lower else spaced) == detect(number)
    assert detect(number).candidates


def _candidate(code: str | None, valid: bool | None, confidence: str) -> Candidate:
    return Candidate(code, code or "x", "f", "f", valid, confidence, None)  # type: ignore[arg-type]


def test_rank_for_account_puts_validated_then_connected_first() -> None:
    purolator = _candidate(None, True, "high")
    fedex_low = _candidate("fedex", False, "low")
    amazon = _candidate(None, None, "medium")
    dhl = _candidate("dhl_ecommerce", None, "medium")
    ranked = rank_for_account([purolator, fedex_low, amazon, dhl], connected={"fedex"})
    assert ranked == [purolator, fedex_low, amazon, dhl]
    ranked = rank_for_account([purolator, fedex_low, amazon, dhl], connected={"dhl_ecommerce"})
    assert ranked == [purolator, dhl, amazon, fedex_low]
    assert rank_for_account(detect("320595463938").candidates, {"fedex"})[0].format_id == (
        "purolator_numeric"
    )
