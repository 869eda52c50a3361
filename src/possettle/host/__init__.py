"""The acquirer host: PS-CUP/1 server, handlers, ledger and terminal registry."""
