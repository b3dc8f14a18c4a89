"""``archsolve check``: one network's report, with fixes and repairs."""
