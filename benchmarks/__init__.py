"""tabsession's benchmarks: the timing goals of DESIGN.md § "Where it must stand".

Run them with `python -m benchmarks` from the repository root (`make bench`); see BENCHMARKS.md.
Each module has `run(quick: bool = False) -> list[dict[str, object]]`: rows with the keys
name, value, unit, notes and optionally goal. Compared variants are measured side by side in one
run, interleaved in rounds, and reported as medians and ratios.
"""

BENCHMARKS = (
    "emulator_throughput",
    "emulator_scale",
    "client_overhead",
    "pagination",
    "shared_sessions",
    "tsc_overhead",
    "proxy_overhead",
    "long_operations",
)
"""Module names, in the order `python -m benchmarks` runs them."""
