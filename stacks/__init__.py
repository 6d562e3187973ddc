"""Stacks compose the constructs of ``constructs_lib`` into deployable units."""
