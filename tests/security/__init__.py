"""The security scan (issue 14), one file per promise:

- `test_secret_type.py`: the masked `Secret` type itself;
- `test_traceback_locals.py`: no secret or token in a traceback formatted with its locals;
- `test_file_permissions.py`: FileStore and CLI files 0600, directories 0700;
- `test_tls_defaults.py`: TLS verification on by default (Client, AsyncClient, CLI, TSC);
- `test_loopback_defaults.py`: the emulator (and, once it lands, the proxy) bind loopback.

Covered elsewhere, not repeated here: logs, reprs, exceptions and event fields
(`tests/integration/test_secrets.py`), CLI output (every `cli(...)` in `tests/cli` checks
its stdout and stderr), and "no token reaches another host" (the redirect cases of
`tests/reliability/test_hostile_servers.py`: a sign-in or an authenticated call redirected to
another host is refused and the other host never sees the secret or the token).
"""
