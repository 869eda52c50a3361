"""One module per family of PS-CUP/1 requests; :mod:`.dispatch` routes by message kind."""
