"""Helpers shared by the tests and bench/: free ports, real SIP peers (sipp), callers for every line, a served bot."""
