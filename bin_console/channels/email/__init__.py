"""The e-mail channel: messages (message.py), the SMTP session (smtp_link.py), the outbox for e-mail
(store.py), the sender threads (driver.py), the time to finish (eta.py) and replies over IMAP
(imap_reader.py, replies.py)."""
