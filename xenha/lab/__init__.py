"""The local lab: a real Pacemaker/Corosync pool on one machine (may use the newest Python)."""
