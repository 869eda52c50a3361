"""possettle: a POS settlement stack (PS-CUP/1 codec, acquirer host, terminal core, doctor)."""

__version__ = "0.1.0"
