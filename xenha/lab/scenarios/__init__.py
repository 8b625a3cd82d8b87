"""What the lab demonstrates and measures: the demo's power cut and its timeline."""
