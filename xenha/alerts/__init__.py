"""The Pacemaker alert agent that mails significant cluster events (``alert-email``).

Pacemaker runs it as ``hacluster``, once per event and recipient, with the
event in ``CRM_alert_*`` variables and the alert's instance attributes as
plain variables: ``events`` decides what is worth a mail and writes it,
``suppress`` drops repeats within a window, ``mail`` delivers with a deadline.
"""
