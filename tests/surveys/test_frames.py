"""Phone frames: normalisation, line-numbered rejection, de-duplication, do-not-call, encrypted
storage; reproducible selection in replicates; recently answered numbers excluded."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from participation.core.crypto import Vault
from participation.core.errors import ConflictError, ServiceError
from participation.settings import Settings
from participation.surveys.frames import (
    add_do_not_call,
    import_frame,
    normalise_phone,
    release_replicate,
    select_sample,
)
from participation.surveys.models import FrameNumber, Response, SampleCase
from participation.surveys.service import set_allocation, transition_wave
from tests.surveys.helpers import STREET, fielding_wave

OTHER = "371302001"


def test_normalise_phone() -> None:
    assert normalise_phone("138 1234 5678") == ("+8613812345678", "mobile")
    assert normalise_phone("0539-8123456") == ("+865398123456", "landline")
    assert normalise_phone("+86 139-0000-1111")[0] == "+8613900001111"
    with pytest.raises(ValueError):
        normalise_phone("12345")


def frame_csv(n: int = 30, street: str = STREET) -> str:
    lines = ["street_code,phone,frame_type"]
    lines += [f"{street},1391234{k:04d}," for k in range(n)]
    lines += [f"{street},05398{k:06d},landline" for k in range(n)]
    return "\n".join(lines) + "\n"


def test_invalid_lines_reject_the_whole_file(
    session: Session, settings: Settings, linyi: None
) -> None:
    vault = Vault(settings)
    text = "street_code,phone\n" + f"{STREET},13912345678\n{STREET},123\n999999999,13912345679\n"
    with pytest.raises(ServiceError) as info:
        import_frame(session, vault, text)
    message = str(info.value)
    assert info.value.line == 3
    assert "3 (phone" in message and "4 (street_code" in message
    assert session.exec(select(FrameNumber)).all() == []
    report = import_frame(session, vault, text, skip_invalid=True)
    assert report.imported == 1
    assert [line for line, _, _ in report.invalid] == [3, 4]


def test_duplicates_dnc_and_encryption(session: Session, settings: Settings, linyi: None) -> None:
    vault = Vault(settings)
    add_do_not_call(session, vault, "13900000002", "asked not to be called")
    text = (
        "street_code,phone\n"
        f"{STREET},13900000001\n{STREET},+86 139 0000 0001\n{STREET},13900000002\n"
        f"{STREET},0539-8123456\n"
    )
    report = import_frame(session, vault, text)
    assert (report.imported, report.duplicates, report.do_not_call) == (2, 1, 1)
    again = import_frame(session, vault, text)
    assert again.imported == 0 and again.duplicates == 3
    rows = session.exec(select(FrameNumber).order_by(FrameNumber.id)).all()
    assert [r.frame_type for r in rows] == ["mobile", "landline"]
    assert "13900000001" not in (rows[0].phone_enc or "")
    assert vault.decrypt(rows[0].phone_enc or "") == "+8613900000001"
    assert rows[0].phone_hash == vault.keyed_hash("+8613900000001")


def test_xlsx_frame(session: Session, settings: Settings, linyi: None) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["street_code", "phone"])
    ws.append([int(STREET), 13911112222])
    buffer = BytesIO()
    wb.save(buffer)
    report = import_frame(session, Vault(settings), buffer.getvalue(), "frame.xlsx")
    assert report.imported == 1


def selected(session: Session, wave_id: int) -> list[tuple[int | None, int]]:
    return [
        (c.frame_number_id, c.replicate)
        for c in session.exec(
            select(SampleCase).where(SampleCase.wave_id == wave_id).order_by(SampleCase.id)
        )
    ]


def test_selection_is_reproducible_and_in_replicates(
    session: Session, settings: Settings, linyi: None
) -> None:
    import_frame(session, Vault(settings), frame_csv() + frame_csv(street=OTHER).split("\n", 1)[1])
    first = fielding_wave(session)
    second = fielding_wave(session)
    assert first.id is not None and second.id is not None
    for wave in (first, second):
        set_allocation(session, wave.id, "equal", per_street=10)  # type: ignore[arg-type]
    report = select_sample(session, first.id, seed=42, replicates=2, oversample=2.0)
    select_sample(session, second.id, seed=42, replicates=2, oversample=2.0)
    session.commit()
    # 10 per street -> 6 mobile + 4 landline, ×2 oversample, two streets with frames
    assert report.selected == 2 * (12 + 8)
    assert selected(session, first.id) == selected(session, second.id)
    cases = session.exec(select(SampleCase).where(SampleCase.wave_id == first.id)).all()
    assert {c.replicate for c in cases} == {1, 2}
    assert all(c.released == (c.replicate == 1) for c in cases)
    assert all(c.selection_seed == 42 for c in cases)
    with pytest.raises(ServiceError):
        select_sample(session, first.id, seed=42)
    assert release_replicate(session, first.id, 2) == sum(1 for c in cases if c.replicate == 2)
    # a different seed gives a different sample
    third = fielding_wave(session)
    assert third.id is not None
    set_allocation(session, third.id, "equal", per_street=10)
    select_sample(session, third.id, seed=7, replicates=2)
    assert selected(session, third.id) != selected(session, first.id)


def test_recent_respondents_are_not_selected_again(
    session: Session, settings: Settings, linyi: None
) -> None:
    import_frame(session, Vault(settings), frame_csv(5))
    earlier = fielding_wave(session)
    assert earlier.id is not None
    set_allocation(session, earlier.id, "equal", per_street=5)
    select_sample(session, earlier.id, seed=1, oversample=2.0)
    cases = session.exec(select(SampleCase).where(SampleCase.wave_id == earlier.id)).all()
    answered = cases[0]
    session.add(Response(wave_id=earlier.id, street_code=STREET, mode="phone", case_id=answered.id))
    session.commit()
    later = fielding_wave(session)
    later.period_start = later.period_start.replace(month=3)
    session.add(later)
    assert later.id is not None
    set_allocation(session, later.id, "equal", per_street=5)
    select_sample(session, later.id, seed=1, oversample=2.0)
    hashes = {
        c.phone_hash for c in session.exec(select(SampleCase).where(SampleCase.wave_id == later.id))
    }
    assert answered.phone_hash not in hashes
    assert len(hashes) == 9  # 10 numbers in the frame, one answered recently


def test_closed_wave_refuses_writes(session: Session, settings: Settings, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    transition_wave(session, wave.id, "closed", "supervisor")
    with pytest.raises(ConflictError) as info:
        select_sample(session, wave.id, seed=1)
    assert info.value.status_code == 409
    with pytest.raises(ConflictError):
        release_replicate(session, wave.id, 2)
