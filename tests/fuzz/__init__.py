"""Fuzzers (issue 14): never a crash, a 500 or a hang. Fixed seeds in `make test` (the `ci`
Hypothesis profile), longer with `make fuzz` (the `fuzz` profile; see tests/conftest.py).

- `test_fuzz_responses.py`: response parsing (bodies, headers, encodings) raises nothing but
  `TableauError` subclasses, or ValueError where the function documents it;
- `test_fuzz_emulator.py`: the emulator's REST API and control plane, over real HTTP;
- `test_fuzz_cli.py`: the CLI's arguments and config files exit with a code from its table,
  never with a traceback;
- proxy inputs: `test_fuzz_proxy.py` belongs here once the proxy (issue 13) is on main; the
  request strategies in `_strategies.py` (`methods`, `paths`, `header_maps`, `bodies`) are
  written to be reused for it.
"""
