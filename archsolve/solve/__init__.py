"""Filling the unknowns: the exact search, the Z3 encoding, relaxations, input sizes."""
