"""The `xenha` operator command."""
