"""Shapes of one network: its graph, the propagation of sizes, and their explanation."""
