"""reports reward-for-report and service codes

Revision ID: reports_0001
Revises: core_0002
Create Date: 2026-11-26 13:13:56.058735
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "reports_0001"
down_revision: str | Sequence[str] | None = "core_0002"
branch_labels: str | Sequence[str] | None = ("reports",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_category",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("service_group", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "report_facility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_code"],
            ["unit.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_facility", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_facility_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_report_facility_kind"), ["kind"], unique=False)

    op.create_table(
        "report_tariff",
        sa.Column("category_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["report_category.code"],
        ),
        sa.PrimaryKeyConstraint("category_code", "severity"),
    )
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("category_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("street_source", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("media_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_auto", sa.Boolean(), nullable=False),
        sa.Column(
            "reporter_phone_enc", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
        ),
        sa.Column("reporter_name_enc", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("reporter_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("triaged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("triaged_by", sa.Integer(), nullable=True),
        sa.Column("verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["report_category.code"],
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["report.id"],
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["report_facility.id"],
        ),
        sa.ForeignKeyConstraint(
            ["street_code"],
            ["unit.code"],
        ),
        sa.ForeignKeyConstraint(
            ["triaged_by"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_category_code"), ["category_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_reporter_hash"), ["reporter_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_street_code"), ["street_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_tracking_code"), ["tracking_code"], unique=True)

    op.create_table(
        "report_staff_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone_masked", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone_hash"),
    )
    op.create_table(
        "report_reward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tariff_amount", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("reporter_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=False),
        sa.Column("approved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("second_by", sa.Integer(), nullable=True),
        sa.Column("second_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["report.id"],
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
        ),
        sa.ForeignKeyConstraint(
            ["second_by"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("problem_id", name="uq_report_reward_problem"),
        sa.UniqueConstraint("report_id", name="uq_report_reward_report"),
    )
    with op.batch_alter_table("report_reward", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_reward_month"), ["month"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_reward_reporter_hash"), ["reporter_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_reward_status"), ["status"], unique=False)

    op.create_table(
        "report_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["report.id"],
        ),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_verification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_verification_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_payout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reward_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("paid_by", sa.Integer(), nullable=False),
        sa.Column("paid_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paid_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["report_reward.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reward_id"),
    )


def downgrade() -> None:
    op.drop_table("report_payout")
    with op.batch_alter_table("report_verification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_verification_report_id"))

    op.drop_table("report_verification")
    with op.batch_alter_table("report_reward", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reward_status"))
        batch_op.drop_index(batch_op.f("ix_report_reward_reporter_hash"))
        batch_op.drop_index(batch_op.f("ix_report_reward_month"))

    op.drop_table("report_reward")
    op.drop_table("report_staff_phone")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_tracking_code"))
        batch_op.drop_index(batch_op.f("ix_report_street_code"))
        batch_op.drop_index(batch_op.f("ix_report_status"))
        batch_op.drop_index(batch_op.f("ix_report_reporter_hash"))
        batch_op.drop_index(batch_op.f("ix_report_duplicate_of_id"))
        batch_op.drop_index(batch_op.f("ix_report_created_at"))
        batch_op.drop_index(batch_op.f("ix_report_category_code"))

    op.drop_table("report")
    op.drop_table("report_tariff")
    with op.batch_alter_table("report_facility", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_facility_kind"))
        batch_op.drop_index(batch_op.f("ix_report_facility_code"))

    op.drop_table("report_facility")
    op.drop_table("report_category")
