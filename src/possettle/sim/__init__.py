"""Simulated business days: the demo, the load generator and (later) the chaos test."""
