"""Mailing significant cluster events, for the ``alert-email`` agent
(``alert_agents/alert_email.py``) and anything else that sends or tests such a mail.

``events`` reads a Pacemaker alert's ``CRM_alert_*`` variables, decides what is
worth a mail and writes it; ``settings`` reads the alert's instance attributes;
``speaker`` names the one node that mails an event; ``suppress`` drops repeats
within a window; ``mail`` delivers with a deadline.
"""
