"""Main units of organisations: the organisation number of a sub-unit's main unit, as
Enhetsregisteret's bulk download names it (`overordnetEnhet`), filled by `pdp register
import-brreg`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parent_organization_number", sa.String(length=9), nullable=True)
        )
