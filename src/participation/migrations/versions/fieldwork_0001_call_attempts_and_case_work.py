"""fieldwork call attempts and case work

Revision ID: fieldwork_0001
Revises: core_0001
Create Date: 2026-11-24 21:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "fieldwork_0001"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = ("fieldwork",)
depends_on: str | Sequence[str] | None = "surveys_0001"


def upgrade() -> None:
    op.create_table(
        "call_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("interviewer_id", sa.Integer(), nullable=True),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("disposition", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("callback_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["sample_case.id"]),
        sa.ForeignKeyConstraint(["interviewer_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_attempt_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_call_attempt_disposition"), ["disposition"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_attempt_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_call_attempt_interviewer_id"), ["interviewer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_call_attempt_street_code"), ["street_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_attempt_wave_id"), ["wave_id"], unique=False)
    op.create_table(
        "case_work",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("attempt_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("interview_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("interview_seconds", sa.Float(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["sample_case.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("case_work")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        for name in (
            "wave_id",
            "street_code",
            "interviewer_id",
            "ended_at",
            "disposition",
            "case_id",
        ):
            batch_op.drop_index(batch_op.f(f"ix_call_attempt_{name}"))
    op.drop_table("call_attempt")
