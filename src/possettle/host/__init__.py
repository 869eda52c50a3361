"""The acquirer host: PS-CUP/1 server, handlers and terminal registry; it writes the ledger
(:mod:`possettle.ledger`)."""
