"""Key rotation, retention and backup/restore."""

from datetime import timedelta

from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlmodel import select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core.crypto import PersonalDataError, Vault
from participation.core.maintenance import apply_retention, backup, restore, rotate_keys
from participation.core.timeutil import utcnow
from participation.surveys.models import FrameNumber


def test_key_rotation_reencrypts_every_encrypted_column(linyi, session, settings, engine):
    old = Vault(settings)
    session.add(
        FrameNumber(
            street_code="371302002",
            phone_enc=old.encrypt("+8613800000001"),
            phone_hash=old.keyed_hash("+8613800000001"),
        )
    )
    session.commit()
    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(update={"data_keys": f"{new_key},{settings.data_keys}"})
    counts = rotate_keys(engine, Vault(rotated))
    assert counts["frame_number.phone_enc"] == 1
    only_new = Vault(settings.model_copy(update={"data_keys": new_key}))
    session.expire_all()
    row = session.exec(select(FrameNumber)).one()
    assert only_new.decrypt(row.phone_enc) == "+8613800000001"
    try:
        old.decrypt(row.phone_enc)
    except PersonalDataError:
        pass
    else:
        raise AssertionError("the old key still decrypts rotated data")


def test_retention_clears_old_numbers_only(linyi, session, settings, engine):
    vault = Vault(settings)
    old = FrameNumber(
        street_code="371302002",
        phone_enc=vault.encrypt("+8613800000001"),
        phone_hash=vault.keyed_hash("+8613800000001"),
        imported_at=utcnow() - timedelta(days=400),
    )
    new = FrameNumber(
        street_code="371302002",
        phone_enc=vault.encrypt("+8613800000002"),
        phone_hash=vault.keyed_hash("+8613800000002"),
    )
    session.add_all([old, new])
    session.commit()
    result = apply_retention(engine, 365)
    assert result.cleared["frame_number"] == 1
    session.expire_all()
    rows = {r.phone_hash: r for r in session.exec(select(FrameNumber))}
    assert rows[vault.keyed_hash("+8613800000001")].phone_enc is None
    assert rows[vault.keyed_hash("+8613800000002")].phone_enc is not None


def test_backup_and_restore_round_trip(make_user, session, settings, tmp_path):
    make_user("before_backup", Role.ADMINISTRATOR)
    target = backup(settings.database_url, tmp_path / "backup.dump")
    assert target.stat().st_size > 0
    make_user("after_backup", Role.ADMINISTRATOR)
    session.close()
    from participation.db import engine_for

    engine_for(settings.database_url).dispose()
    restore(settings.database_url, target)
    names = set(session.exec(select(User.username)))
    assert names == {"before_backup"}


def test_backup_cli(settings, monkeypatch, tmp_path):
    from participation.cli import cli
    from participation.settings import get_settings

    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(cli, ["backup", str(tmp_path / "b.dump")])
        assert ok.exit_code == 0, ok.output
        missing = CliRunner().invoke(cli, ["restore", "--yes", str(tmp_path / "nope.dump")])
        assert missing.exit_code == 1 and "no such backup" in missing.output
    finally:
        get_settings.cache_clear()
