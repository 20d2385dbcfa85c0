"""The schema as released before service resources: policy-set versions, the register of
organisations and ER roles, delegations to persons and organisations.

What `pdp.db` described at commit 4b13ba3 (`create_schema` made it on first use). A database made
by a pdp of that time, or later but before migrations existed, is taken to be at this revision
(see `pdp.schema`); the next revision copes with the tables such a database may already have.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_set_versions",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    op.create_table(
        "policies",
        sa.Column(
            "version",
            sa.Integer,
            sa.ForeignKey("policy_set_versions.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("uid", sa.String(300), primary_key=True),
        sa.Column("resource_id", sa.String(300), nullable=False),
        sa.Column("action_id", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_policies_target", "policies", ["version", "resource_id", "action_id"])
    op.create_table(
        "active_policy_set",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "version", sa.Integer, sa.ForeignKey("policy_set_versions.number"), nullable=False
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_active_policy_set_single_row"),
    )
    change_counter = op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_change_counter_single_row"),
    )
    op.bulk_insert(change_counter, [{"id": 1, "generation": 0}])
    op.create_table(
        "organizations",
        sa.Column("organization_number", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("org_form", sa.String(10), nullable=False),
    )
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "organization_number",
            sa.String(9),
            sa.ForeignKey("organizations.organization_number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role_code", sa.String(10), nullable=False),
        sa.Column("holder_kind", sa.String(12), nullable=False),
        sa.Column("holder_id", sa.String(11), nullable=False),
        sa.CheckConstraint(
            "holder_kind IN ('person', 'organization')", name="ck_role_assignments_holder_kind"
        ),
        sa.UniqueConstraint("organization_number", "role_code", "holder_kind", "holder_id"),
    )
    op.create_index(
        "ix_role_assignments_holder", "role_assignments", ["holder_id", "organization_number"]
    )
    op.create_table(
        "delegations",
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
    )
    op.create_index(
        "uq_delegations_active",
        "delegations",
        ["party", "package", "recipient_kind", "recipient_id"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_index("ix_delegations_recipient", "delegations", ["recipient_id", "party"])
    op.create_index("ix_delegations_party", "delegations", ["party", "recipient_kind"])
