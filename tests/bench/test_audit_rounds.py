"""The audit writers' round-by-round spread (bench/measure.py `_spread`): each round against
the floor round run right after it, so the note says how far one round can swing the
goal's verdict. No timing is asserted: the figures belong to `make bench`."""

from __future__ import annotations

from bench.measure import _spread


def test_each_round_is_paired_with_its_own_floor_round_and_summarised_by_quartiles():
    samples = [800.0, 900.0, 700.0, 1000.0, 750.0]
    floors = [1000.0, 1000.0, 1000.0, 1000.0, 1000.0]

    # Ratios 0.70, 0.75, 0.80, 0.90, 1.00: the median is the middle round's, and the
    # quartiles are statistics.quantiles' (exclusive method) of the five.
    assert _spread(samples, floors) == "median 0.80, quartiles 0.72–0.95 (5 rounds)"


def test_a_round_is_divided_by_its_own_floor_not_by_the_floors_median():
    # A slow round met by a slow floor round is at par, not slow.
    assert _spread([500.0, 1000.0, 1000.0, 1000.0], [500.0, 1000.0, 1000.0, 1000.0]) == (
        "median 1.00, quartiles 1.00–1.00 (4 rounds)"
    )


def test_too_few_rounds_for_quartiles_are_listed_as_they_are():
    assert _spread([800.0, 900.0], [1000.0, 1000.0]) == "ratios 0.80, 0.90"
