"""The exact search over the unknowns' domains."""
