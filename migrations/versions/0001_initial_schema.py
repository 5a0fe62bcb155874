"""Initial schema: the registry tables, classifications with their rule firings, probe runs, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('architectures',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('arxiv', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('family', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hybrid', sa.Boolean(), nullable=False),
    sa.Column('per_step_compute', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state_size', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state_scalars', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('retrieval', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('precision', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('claims', sa.JSON(), nullable=True),
    sa.Column('hyperparameters', sa.JSON(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('confidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_architectures'))
    )
    with op.batch_alter_table('architectures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_architectures_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_architectures_year'), ['year'], unique=False)

    op.create_table('meta',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('probe_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arch_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('module', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('dtype', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lengths', sa.JSON(), nullable=False),
    sa.Column('measurements', sa.JSON(), nullable=True),
    sa.Column('fit', sa.JSON(), nullable=True),
    sa.Column('placement', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('efficient', sa.Boolean(), nullable=True),
    sa.Column('compact', sa.Boolean(), nullable=True),
    sa.Column('recall', sa.Boolean(), nullable=True),
    sa.Column('state_growth', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('compute_growth', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('archclass_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_probe_runs'))
    )
    with op.batch_alter_table('probe_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_probe_runs_arch_id'), ['arch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_probe_runs_created_at'), ['created_at'], unique=False)

    op.create_table('aliases',
    sa.Column('arch_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['arch_id'], ['architectures.id'], name=op.f('fk_aliases_arch_id_architectures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arch_id', 'alias', name=op.f('pk_aliases'))
    )
    with op.batch_alter_table('aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aliases_alias'), ['alias'], unique=False)

    op.create_table('classifications',
    sa.Column('arch_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('efficient', sa.Boolean(), nullable=False),
    sa.Column('compact', sa.Boolean(), nullable=False),
    sa.Column('recall', sa.Boolean(), nullable=False),
    sa.Column('placement', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('position_e', sa.Float(), nullable=False),
    sa.Column('position_c', sa.Float(), nullable=False),
    sa.Column('position_r', sa.Float(), nullable=False),
    sa.Column('compute_growth', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('state_growth', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('hybrid', sa.Boolean(), nullable=False),
    sa.Column('max_pairs', sa.Float(), nullable=True),
    sa.Column('bound', sa.JSON(), nullable=True),
    sa.Column('archclass_version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.CheckConstraint("placement IN ('EC', 'ER', 'CR', 'E', 'C', 'R', 'none')", name=op.f('ck_classifications_placement_known')),
    sa.ForeignKeyConstraint(['arch_id'], ['architectures.id'], name=op.f('fk_classifications_arch_id_architectures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arch_id', name=op.f('pk_classifications'))
    )
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classifications_placement'), ['placement'], unique=False)

    op.create_table('hybrid_components',
    sa.Column('hybrid_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('component_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('fraction', sa.Float(), nullable=False),
    sa.CheckConstraint('fraction > 0 AND fraction <= 1', name=op.f('ck_hybrid_components_fraction_range')),
    sa.ForeignKeyConstraint(['component_id'], ['architectures.id'], name=op.f('fk_hybrid_components_component_id_architectures')),
    sa.ForeignKeyConstraint(['hybrid_id'], ['architectures.id'], name=op.f('fk_hybrid_components_hybrid_id_architectures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hybrid_id', 'component_id', name=op.f('pk_hybrid_components'))
    )
    with op.batch_alter_table('hybrid_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hybrid_components_component_id'), ['component_id'], unique=False)

    op.create_table('rule_firings',
    sa.Column('arch_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('property', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sa.Boolean(), nullable=False),
    sa.Column('explanation', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['arch_id'], ['classifications.arch_id'], name=op.f('fk_rule_firings_arch_id_classifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arch_id', 'ordinal', name=op.f('pk_rule_firings'))
    )
    with op.batch_alter_table('rule_firings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_firings_rule'), ['rule'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rule_firings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_firings_rule'))

    op.drop_table('rule_firings')
    with op.batch_alter_table('hybrid_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hybrid_components_component_id'))

    op.drop_table('hybrid_components')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classifications_placement'))

    op.drop_table('classifications')
    with op.batch_alter_table('aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aliases_alias'))

    op.drop_table('aliases')
    with op.batch_alter_table('probe_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_probe_runs_created_at'))
        batch_op.drop_index(batch_op.f('ix_probe_runs_arch_id'))

    op.drop_table('probe_runs')
    op.drop_table('meta')
    with op.batch_alter_table('architectures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_architectures_year'))
        batch_op.drop_index(batch_op.f('ix_architectures_family'))

    op.drop_table('architectures')
