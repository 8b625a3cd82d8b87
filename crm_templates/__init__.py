"""Jinja2 templates the configuration generator renders (package only so they install)."""
