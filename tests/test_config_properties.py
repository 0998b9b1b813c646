"""Property-based tests of configuration parsing: any key and value give a Config or a ConfigError, nothing else."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import RANGES, Config, ConfigError, _known_keys, load_config, parse_override
from systems.copernicus import SYSTEM

values = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "nan" if math.isnan(f) else repr(f).replace("inf", "inf")),
    st.lists(st.integers(-5, 10**6), max_size=4).map(lambda v: str(v)),
    st.sampled_from(["true", "''", "'mlp'", "'add,cosine'", "physics", "[[1]]", "{a = 1}", "1979-05-27", "\\u0000", ""]),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(_known_keys()), st.text(max_size=30))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(keys, values), max_size=4), st.one_of(st.none(), st.integers(-(10**12), 10**12)))
def test_any_override_gives_a_config_or_a_config_error(pairs, seed):
    try:
        config = load_config(None, [f"{k}={v}" for k, v in pairs], seed=seed, system=SYSTEM)
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(config, Config)
    for key, (low, high, _) in RANGES.items():  # whatever got through is in range
        value = config
        for part in key.split("."):
            value = getattr(value, part)
        assert all(low <= v <= high for v in (value if isinstance(value, list) else [value])), key


@pytest.mark.parametrize(
    "override",
    ["regress.time_budget=nan", "regress.time_budget=-1", "train.batch_size=0", "report.dpi=0", "seed=-1", "regress.n_rows=0"],
)
def test_out_of_range_values_name_the_key_the_range_and_the_value(override):
    key, value = parse_override(override)
    with pytest.raises(ConfigError, match=rf"`{key}` must lie between .* Received: "):
        load_config(None, [override], system=SYSTEM)
