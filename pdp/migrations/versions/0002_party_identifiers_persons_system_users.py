"""Altinn's identifiers in the register and system users as recipients of delegations: tables
`parties`, `persons` and `system_users`; `delegations.recipient_id` long enough for a system
user's UUID, and `system_user` among the kinds of recipient.

A database made between the release before this and migrations (by `create_schema`, on every
start) may already have the three tables, and even the new delegations table: tables are made
only where missing, and the delegations table is altered to the same end state either way.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The delegations table as revision 0001 made it: what SQLite rebuilds it from.
_DELEGATIONS_BEFORE = sa.Table(
    "delegations",
    sa.MetaData(),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("party", sa.String(9), nullable=False),
    sa.Column("package", sa.String(300), nullable=False),
    sa.Column("delegator", sa.String(11), nullable=False),
    sa.Column("recipient_kind", sa.String(12), nullable=False),
    sa.Column("recipient_id", sa.String(11), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_by", sa.String(11)),
    sa.CheckConstraint(
        "recipient_kind IN ('person', 'organization')", name="ck_delegations_recipient_kind"
    ),
    sa.Index(
        "uq_delegations_active",
        "party",
        "package",
        "recipient_kind",
        "recipient_id",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
    sa.Index("ix_delegations_recipient", "recipient_id", "party"),
    sa.Index("ix_delegations_party", "party", "recipient_kind"),
)


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "parties" not in present:
        op.create_table(
            "parties",
            sa.Column("kind", sa.String(12), primary_key=True),
            sa.Column("identifier", sa.String(11), primary_key=True),
            sa.Column("party_id", sa.BigInteger),
            sa.Column("party_uuid", sa.String(36)),
            sa.CheckConstraint("kind IN ('person', 'organization')", name="ck_parties_kind"),
            sa.CheckConstraint(
                "party_id IS NOT NULL OR party_uuid IS NOT NULL", name="ck_parties_some_identifier"
            ),
        )
        op.create_index("uq_parties_party_id", "parties", ["party_id"], unique=True)
        op.create_index("uq_parties_party_uuid", "parties", ["party_uuid"], unique=True)
    if "persons" not in present:
        op.create_table(
            "persons",
            sa.Column("national_id", sa.String(11), primary_key=True),
            sa.Column("name", sa.String(500)),
            sa.Column("user_id", sa.BigInteger),
            sa.Column("person_uuid", sa.String(36)),
        )
        op.create_index("uq_persons_user_id", "persons", ["user_id"], unique=True)
        op.create_index("uq_persons_person_uuid", "persons", ["person_uuid"], unique=True)
    if "system_users" not in present:
        op.create_table(
            "system_users",
            sa.Column("uuid", sa.String(36), primary_key=True),
            sa.Column("owner", sa.String(9), nullable=False),
            sa.Column("name", sa.String(500)),
        )
    with op.batch_alter_table("delegations", copy_from=_DELEGATIONS_BEFORE) as table:
        table.alter_column(
            "recipient_id",
            type_=sa.String(36),
            existing_type=sa.String(11),
            existing_nullable=False,
        )
        table.drop_constraint("ck_delegations_recipient_kind", type_="check")
        table.create_check_constraint(
            "ck_delegations_recipient_kind",
            "recipient_kind IN ('person', 'organization', 'system_user')",
        )
