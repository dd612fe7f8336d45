"""Example budgets for the fuzzers, as fractions of the active Hypothesis profile's
`max_examples` (100 in the `ci` profile, 2000 with `make fuzz`), so that one switch makes every
fuzzer run longer."""

from __future__ import annotations

from hypothesis import settings


def examples(fraction: float) -> settings:
    """Settings running `fraction` of the profile's examples (at least 10)."""
    return settings(max_examples=max(10, int(settings.default.max_examples * fraction)))
