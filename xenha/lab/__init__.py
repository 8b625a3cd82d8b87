"""The local lab: simulators and scenarios that stand in for a real pool (newest Python)."""
