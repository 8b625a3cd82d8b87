"""OCF resource agents (provider `xenha`); `xenha install` puts launchers for them in place."""
