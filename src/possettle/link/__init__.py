"""A thin PS-CUP/1 client: message builders and one asyncio connection with keys and MAC.

Tests, benchmarks and the demo drive the host through it; the terminal core builds on it.
"""
