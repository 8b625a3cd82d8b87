"""Fence agents (`fence_xenha_*`); `xenha install` puts launchers for them in place."""
