"""The e-mail channel, a driver on the outbox port (bin_console/outbox.py): messages (message.py), the
SMTP session (smtp_link.py), pacing (pacer.py), unsubscribe tokens (tokens.py), the sender threads
(driver.py), the time to finish (eta.py), replies over IMAP (imap_reader.py, replies.py) and what
starts them with their readiness (service.py)."""
