"""Recall runs: one row per model trained by an ``archclass recall`` sweep.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recall_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sweep_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('arch', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('arch_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('d_model', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('vocab', sa.Integer(), nullable=False),
    sa.Column('seq_len', sa.Integer(), nullable=False),
    sa.Column('n_layers', sa.Integer(), nullable=False),
    sa.Column('steps_run', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('state_scalars', sa.BigInteger(), nullable=False),
    sa.Column('state_bits', sa.BigInteger(), nullable=False),
    sa.Column('bits_per_scalar', sa.Integer(), nullable=False),
    sa.Column('bound_pairs', sa.Float(), nullable=True),
    sa.Column('target_accuracy', sa.Float(), nullable=False),
    sa.Column('tokens_per_second', sa.Float(), nullable=True),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accuracy', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('archclass_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_recall_runs_capacity_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall_runs'))
    )
    with op.batch_alter_table('recall_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recall_runs_arch'), ['arch'], unique=False)
        batch_op.create_index(batch_op.f('ix_recall_runs_arch_id'), ['arch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recall_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recall_runs_sweep_id'), ['sweep_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recall_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recall_runs_sweep_id'))
        batch_op.drop_index(batch_op.f('ix_recall_runs_created_at'))
        batch_op.drop_index(batch_op.f('ix_recall_runs_arch_id'))
        batch_op.drop_index(batch_op.f('ix_recall_runs_arch'))

    op.drop_table('recall_runs')
