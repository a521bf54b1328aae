"""Alerts: recipient plans, creation in one transaction, follow-ups, and the outbox port every channel drives."""
