"""alert-email: mail significant cluster events (see xenha.alerts and docs/alerts.md)."""

from xenha.alerts.agent import main

if __name__ == "__main__":
    main()
