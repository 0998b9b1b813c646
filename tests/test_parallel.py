"""The process-pool runner shared by the regress stage and the sweep."""

import math

import pytest

from pipeline.executors.local import map_in_processes


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_order_and_each_is_reported_as_it_finishes(workers):
    seen = []
    items = [5, 3, 8, 1]
    results = map_in_processes(math.factorial, items, workers=workers, on_result=lambda i, r: seen.append((i, r)))
    assert results == [120, 6, 40320, 1]
    assert sorted(seen) == [(0, 120), (1, 6), (2, 40320), (3, 1)]


def test_an_error_in_one_item_reaches_the_caller():
    with pytest.raises(ValueError):
        map_in_processes(math.factorial, [3, -1], workers=2)
