from bin_console.data.schema import current_revision, head_revision
from sqlalchemy import text


def test_upgrade_reaches_head_on_each_backend(db):
    assert current_revision(db) == head_revision(db)
    with db.read() as s:
        assert s.execute(text("select count(*) from member")).scalar_one() == 0
