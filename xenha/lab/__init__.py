"""The local lab: simulated pool, BMCs, PDU and scenarios on one machine."""
