"""Several `voicebot serve` workers behind one Kamailio: config rendering and a local launcher."""
