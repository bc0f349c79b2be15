"""Telephone sample frames: import, do-not-call, reproducible selection and release in replicates.

Import (CSV or XLSX with columns ``street_code,phone[,frame_type]``): numbers are normalised
with ``phonenumbers`` (region CN, E.164). Bad input never loses data: by default a file with an
invalid line is refused as a whole, naming every bad line; with ``skip_invalid`` the valid
lines are imported and the invalid ones listed in the report. Duplicates (within the file and
against the frame) and do-not-call numbers are dropped and counted. Numbers are stored
encrypted (``Vault``) with a keyed hash for de-duplication.

Selection: per stratum (street × frame) the eligible numbers (not do-not-call, not already in
the wave, not answered in the last K waves) are ordered by id and permuted with a numpy
Generator seeded from the recorded wave seed and the stratum, so a selection can be repeated
exactly. The selected numbers are cut into replicates (random sub-samples); supervisors release
replicates one at a time, so adding sample never biases it towards easy-to-reach numbers.
"""

from __future__ import annotations

import csv
import io
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import phonenumbers
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import Session, col, select

from participation.core.crypto import Vault
from participation.core.errors import ServiceError
from participation.core.i18n import N_
from participation.geography.models import Level, Unit
from participation.surveys.models import (
    DoNotCall,
    FrameNumber,
    FrameType,
    Response,
    SampleCase,
    Wave,
    WaveSource,
)
from participation.surveys.service import allocation_of, ensure_wave_writable, get_wave

FRAME_TYPES = tuple(f.value for f in FrameType)
MAX_REPORTED_ERRORS = 200


def normalise_phone(raw: str) -> tuple[str, str]:
    """E.164 form and frame type (mobile/landline) of a Chinese number; ValueError if invalid."""
    text = raw.strip()
    if not text:
        raise ValueError("empty")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid number")
    kind = phonenumbers.number_type(number)
    frame = (
        FrameType.MOBILE.value
        if kind in (phonenumbers.PhoneNumberType.MOBILE,)
        else FrameType.LANDLINE.value
    )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), frame


@dataclass
class FrameImportReport:
    """What a frame import did."""

    imported: int = 0
    duplicates: int = 0
    do_not_call: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (line, column, reason)
    by_street: dict[str, int] = field(default_factory=dict)


def _table_rows(data: bytes | str, filename: str = "") -> list[tuple[int, dict[str, str]]]:
    """Rows (line number, column → text) of a CSV or XLSX file; header names lower-cased."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if filename.lower().endswith(".xlsx") or raw[:2] == b"PK":
        try:
            wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise ServiceError(N_("The file cannot be read as a workbook."), field="file") from exc
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            return []
        header = [str(h or "").strip().lower() for h in rows[0]]
        out = []
        for index, row in enumerate(rows[1:], start=2):
            values = {
                header[i]: ("" if v is None else str(int(v) if isinstance(v, float) else v)).strip()
                for i, v in enumerate(row)
                if i < len(header) and header[i]
            }
            if any(values.values()):
                out.append((index, values))
        return out
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(N_("The file is not UTF-8 text."), field="file") from exc
    reader = csv.reader(io.StringIO(text))
    rows_csv = list(reader)
    if not rows_csv:
        return []
    header = [h.strip().lower() for h in rows_csv[0]]
    out = []
    for index, row in enumerate(rows_csv[1:], start=2):
        values = {header[i]: v.strip() for i, v in enumerate(row) if i < len(header)}
        if any(values.values()):
            out.append((index, values))
    return out


def import_frame(
    session: Session,
    vault: Vault,
    data: bytes | str,
    filename: str = "",
    *,
    skip_invalid: bool = False,
) -> FrameImportReport:
    """Import sample-frame numbers (see the module docstring)."""
    rows = _table_rows(data, filename)
    if not rows:
        raise ServiceError(N_("The file has no data lines."), field="file")
    for needed in ("street_code", "phone"):
        if needed not in rows[0][1]:
            raise ServiceError(
                N_("The file has no %(column)s column."), field=needed, line=1, column=needed
            )
    streets = set(session.exec(select(Unit.code).where(Unit.level == Level.STREET.value)))
    report = FrameImportReport()
    valid: list[tuple[int, str, str, str]] = []
    for line, row in rows:
        street = row.get("street_code", "")
        if street not in streets:
            report.invalid.append((line, "street_code", f"unknown street {street!r}"))
            continue
        try:
            phone, inferred = normalise_phone(row.get("phone", ""))
        except ValueError as exc:
            report.invalid.append(
                (line, "phone", f"invalid number {row.get('phone', '')!r}: {exc}")
            )
            continue
        frame = (row.get("frame_type") or inferred).strip().lower()
        if frame not in FRAME_TYPES:
            report.invalid.append((line, "frame_type", f"unknown frame type {frame!r}"))
            continue
        valid.append((line, street, frame, phone))
    if report.invalid and not skip_invalid:
        listed = "; ".join(
            f"{line} ({column}: {reason})" for line, column, reason in report.invalid[:20]
        )
        more = len(report.invalid) - 20
        raise ServiceError(
            N_(
                "%(count)s invalid line(s), nothing imported: %(lines)s%(more)s. Fix them, or "
                "import the valid lines only (skip invalid)."
            ),
            field="phone",
            line=report.invalid[0][0],
            count=len(report.invalid),
            lines=listed,
            more=f" (+{more})" if more > 0 else "",
        )
    blocked = set(session.exec(select(DoNotCall.phone_hash)))
    existing = {
        (s, f, h)
        for s, f, h, dnc in session.exec(
            select(
                FrameNumber.street_code,
                FrameNumber.frame_type,
                FrameNumber.phone_hash,
                FrameNumber.do_not_call,
            )
        )
    }
    blocked |= {
        h for h, dnc in session.exec(select(FrameNumber.phone_hash, FrameNumber.do_not_call)) if dnc
    }
    seen: set[tuple[str, str, str]] = set()
    new_rows: list[dict[str, Any]] = []
    for _line, street, frame, phone in valid:
        digest = vault.keyed_hash(phone)
        key = (street, frame, digest)
        if digest in blocked:
            report.do_not_call += 1
            continue
        if key in seen or key in existing:
            report.duplicates += 1
            continue
        seen.add(key)
        new_rows.append(
            {
                "street_code": street,
                "frame_type": frame,
                "phone_enc": vault.encrypt(phone),
                "phone_hash": digest,
            }
        )
        report.by_street[street] = report.by_street.get(street, 0) + 1
    if new_rows:
        session.bulk_insert_mappings(FrameNumber, new_rows)  # type: ignore[arg-type]
        session.flush()
    report.imported = len(new_rows)
    return report


def add_do_not_call(session: Session, vault: Vault, phone: str, reason: str = "") -> str:
    """Put a number on the do-not-call list (frames and unreleased cases drop it); its hash."""
    try:
        e164, _ = normalise_phone(phone)
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a valid phone number."), field="phone", value=phone
        ) from exc
    digest = vault.keyed_hash(e164)
    if session.get(DoNotCall, digest) is None:
        session.add(DoNotCall(phone_hash=digest, reason=reason[:200]))
    session.execute(
        update(FrameNumber).where(col(FrameNumber.phone_hash) == digest).values(do_not_call=True)
    )
    session.flush()
    return digest


@dataclass
class SelectionReport:
    """What a selection did: cases per stratum, the seed and any shortfall."""

    seed: int
    selected: int = 0
    replicates: int = 1
    short: dict[str, int] = field(default_factory=dict)  # "street/frame" -> missing numbers


def recently_answered(session: Session, wave: Wave, last_k: int) -> set[str]:
    """Phone hashes that gave a response in the ``last_k`` city waves before ``wave``."""
    if last_k <= 0:
        return set()
    earlier = session.exec(
        select(Wave.id)
        .where(Wave.id != wave.id)
        .where(Wave.source == WaveSource.CITY.value)
        .where(Wave.period_start < wave.period_start)
        .order_by(col(Wave.period_start).desc())
        .limit(last_k)
    ).all()
    if not earlier:
        return set()
    rows = session.exec(
        select(SampleCase.phone_hash)
        .join(Response, col(Response.case_id) == SampleCase.id)
        .where(col(SampleCase.wave_id).in_(earlier))
        .where(col(SampleCase.phone_hash).is_not(None))
    ).all()
    return {h for h in rows if h}


def _stratum_rng(seed: int, street: str, frame: str) -> np.random.Generator:
    key = zlib.crc32(f"{street}/{frame}".encode())
    return np.random.default_rng([seed, key])


def select_sample(
    session: Session,
    wave_id: int,
    *,
    seed: int | None = None,
    replicates: int = 4,
    oversample: float = 2.0,
    exclude_recent: int | None = None,
) -> SelectionReport:
    """Select the wave's sample from the frames, per street × frame (see the module docstring).

    Each stratum gets ``ceil(n_hf × oversample)`` numbers in random order, cut into
    ``replicates`` batches; replicate 1 is released at once. The seed is recorded in
    ``Wave.allocation["selection"]`` so the same call gives the same cases.
    """
    wave = get_wave(session, wave_id)
    ensure_wave_writable(wave)
    if session.exec(select(SampleCase.id).where(SampleCase.wave_id == wave_id).limit(1)).first():
        raise ServiceError(N_("This wave already has a sample."), field="wave_id")
    if replicates < 1 or oversample < 1:
        raise ServiceError(
            N_("Replicates and oversampling must be at least 1."), field="replicates"
        )
    if seed is None:
        seed = int(np.random.default_rng().integers(1, 2**31 - 1))
    last_k = (
        exclude_recent
        if exclude_recent is not None
        else int((wave.settings or {}).get("exclude_recent_waves", 3))
    )
    allocation = allocation_of(session, wave)
    excluded = recently_answered(session, wave, last_k)
    excluded |= set(session.exec(select(DoNotCall.phone_hash)))
    frame_rows = session.exec(
        select(
            FrameNumber.id,
            FrameNumber.street_code,
            FrameNumber.frame_type,
            FrameNumber.phone_enc,
            FrameNumber.phone_hash,
        )
        .where(col(FrameNumber.do_not_call).is_(False))
        .order_by(FrameNumber.id)
    ).all()
    strata: dict[tuple[str, str], list[Any]] = {}
    for row in frame_rows:
        if row[4] in excluded:
            continue
        strata.setdefault((row[1], row[2]), []).append(row)
    report = SelectionReport(seed=seed, replicates=replicates)
    cases: list[dict[str, Any]] = []
    frames_alloc: dict[str, dict[str, int]] = allocation.get("frames") or {}
    for street in sorted(frames_alloc):
        for frame, n_target in sorted(frames_alloc[street].items()):
            if n_target <= 0:
                continue
            pool = strata.get((street, frame), [])
            want = math.ceil(n_target * oversample)
            take = min(want, len(pool))
            if take < n_target:
                report.short[f"{street}/{frame}"] = n_target - take
            if take == 0:
                continue
            order = _stratum_rng(seed, street, frame).permutation(len(pool))[:take]
            for position, index in enumerate(order):
                fid, code, ftype, enc, digest = pool[int(index)]
                replicate = 1 + (position * replicates) // take
                cases.append(
                    {
                        "wave_id": wave_id,
                        "street_code": code,
                        "frame_number_id": fid,
                        "frame_type": ftype,
                        "phone_enc": enc,
                        "phone_hash": digest,
                        "replicate": replicate,
                        "released": replicate == 1,
                        "selection_seed": seed,
                        "status": "new",
                    }
                )
    if cases:
        session.bulk_insert_mappings(SampleCase, cases)  # type: ignore[arg-type]
    report.selected = len(cases)
    wave.allocation = {
        **allocation,
        "selection": {
            "seed": seed,
            "replicates": replicates,
            "oversample": oversample,
            "exclude_recent_waves": last_k,
            "released": [1],
        },
    }
    session.add(wave)
    session.flush()
    return report


def release_replicate(session: Session, wave_id: int, replicate: int) -> int:
    """Release replicate ``replicate`` of a wave (all strata); the number of cases released."""
    wave = get_wave(session, wave_id)
    ensure_wave_writable(wave)
    result = session.execute(
        update(SampleCase)
        .where(col(SampleCase.wave_id) == wave_id)
        .where(col(SampleCase.replicate) == replicate)
        .where(col(SampleCase.released).is_(False))
        .values(released=True)
    )
    selection = dict((wave.allocation or {}).get("selection") or {})
    released = sorted(set(selection.get("released", [])) | {replicate})
    selection["released"] = released
    wave.allocation = {**(wave.allocation or {}), "selection": selection}
    session.add(wave)
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
