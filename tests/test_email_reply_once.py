"""A reply mail is stored once even when two readers store it at the same moment (PostgreSQL).

ix_reply_message_id is not unique; the check and the insert are serialised by an advisory lock
instead (replies.py). On SQLite the write lock taken at BEGIN does the same.
"""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from bin_console.data.engine import Database
from bin_console.data.models import Reply, utcnow
from bin_console.data.schema import upgrade
from mail_fixtures import wait_until
from sqlalchemy import func, select, text

from bin_console.channels.email.replies import store_email_reply
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")


def _mail() -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "lid@example.be", "antwoord@pz-test.be", "Re", "<once@x.be>"
    m.set_content("Gezien")
    return message_from_bytes(bytes(m), policy=policy.default)  # type: ignore[return-value]


@pytest.mark.pg
def test_two_readers_storing_the_same_mail_at_once_store_it_once(pg_url):
    db = Database.from_url(pg_url)
    upgrade(db, backup=False)
    try:
        done: list[int] = []
        with db.write() as s:  # reader A: stored, not yet committed
            first = store_email_reply(s, _mail(), utcnow(), ACTOR)

            def reader_b():
                with db.write() as s2:
                    done.append(store_email_reply(s2, _mail(), utcnow(), ACTOR))

            b = threading.Thread(target=reader_b, daemon=True)
            b.start()

            def b_finished_or_waits_for_the_lock():
                with db.engine.connect() as c:
                    waiting = c.execute(
                        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    ).scalar()
                return done or waiting

            wait_until(b_finished_or_waits_for_the_lock, 10, "reader B to store or to wait")
        b.join(10)
        assert done == [first]
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Reply)) == 1
    finally:
        db.dispose()
