"""What archsolve writes: reports, drawings, PyTorch code, specs filled in."""
