"""sign-in: single-use mail links, TOTP second factor, recovery codes

Revision ID: a9d4c6e8f0b2
Revises: d7b2f4a6c8e0
Create Date: 2026-12-04 10:00:00

``sign_in_token`` holds invitations and password resets (SHA-256 of the
token only, purpose, expiry, when used); ``user_totp`` a user's encrypted
TOTP secret, when it was confirmed and the last time step accepted (replays
refused); ``recovery_code`` the hashed single-use codes. New tables only:
downgrade drops them.
"""

import sqlalchemy as sa
from alembic import op

revision = "a9d4c6e8f0b2"
down_revision = "d7b2f4a6c8e0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the token, TOTP and recovery-code tables."""
    op.create_table(
        "sign_in_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_sign_in_token_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_token_token_hash")),
    )
    op.create_index(
        "ix_sign_in_token_user_purpose", "sign_in_token", ["user_id", "purpose"]
    )
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_user_totp_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totp")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_recovery_code_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    op.create_index("ix_recovery_code_user", "recovery_code", ["user_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_index("ix_recovery_code_user", table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_table("user_totp")
    op.drop_index("ix_sign_in_token_user_purpose", table_name="sign_in_token")
    op.drop_table("sign_in_token")
