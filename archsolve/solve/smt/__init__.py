"""The SMT side of the solver: the symbolic system, its Z3 encoding, the size DP, the conflict
explained, input patterns proven."""
