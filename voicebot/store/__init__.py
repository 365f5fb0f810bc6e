"""Redis persistence. The key layout is documented in `keys.py`."""
