"""The POS terminal core: journal, operations as sans-IO state machines, one asyncio shell."""
