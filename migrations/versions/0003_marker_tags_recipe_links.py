"""archclass's own marker, paper titles and authors, tags, the recipe reading, runs linked to their
architecture, and the view architecture_classes.

- meta gets ('application', 'archclass'), and an SQLite file also the header's application_id, so that
  archclass recognises its own databases and refuses everybody else's;
- architectures: title and authors of the cited paper; architecture_tags: one row per mechanism tag;
- classifications: hybrid is dropped (architectures.hybrid says the same), recipe_* hold the second
  reading, with the knobs the paper's own recipe grows with T;
- probe_runs: the probe's verdict columns get the prefix probe_ (they no longer share names with
  classifications); probe_runs and recall_runs get a source column and a foreign key to architectures,
  checked at commit (a sync rewrites every architecture in one transaction). A stored run whose arch_id
  is not in architectures keeps that id in details.unlinked_arch_id, with arch_id NULL; the next sync
  links it when its entry is there.
- the view architecture_classes: one row per architecture with its classification, booleans as
  'true'/'false' and the tags as a JSON list (for Datasette's facets).

A later migration that drops or changes a column the view shows must drop the view first and create
it again afterwards (PostgreSQL refuses to drop a column a view uses). Rebuilding a table in batch mode
on SQLite is fine: archclass runs migrations with legacy_alter_table on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

# ruff: noqa: E501

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - the column type below
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPLICATION_KEY = 'application'
APPLICATION = 'archclass'
#: SQLite's header field for the application that owns the file: "arch" in ASCII.
SQLITE_APPLICATION_ID = 0x61726368
PLACEMENTS_SQL = "'EC', 'ER', 'CR', 'E', 'C', 'R', 'none'"
VERDICT_RENAMES = (
    ('placement', 'probe_placement'),
    ('efficient', 'probe_efficient'),
    ('compact', 'probe_compact'),
    ('recall', 'probe_recall'),
    ('state_growth', 'probe_state_growth'),
    ('compute_growth', 'probe_compute_growth'),
)
RUN_TABLES = ('probe_runs', 'recall_runs')
Text = sqlmodel.sql.sqltypes.AutoString


def _flag(column: str) -> str:
    return f"CASE WHEN {column} THEN 'true' ELSE 'false' END"


def _view_sql(dialect: str) -> str:
    if dialect == 'postgresql':
        tags = "(SELECT coalesce(json_agg(t.tag ORDER BY t.tag), '[]'::json) FROM architecture_tags t WHERE t.arch_id = a.id)"
    else:
        tags = "(SELECT json_group_array(tag) FROM (SELECT t.tag FROM architecture_tags t WHERE t.arch_id = a.id ORDER BY t.tag))"
    return f"""CREATE VIEW architecture_classes AS
SELECT a.id, a.name, a.title, a.year, a.family, {tags} AS tags,
       c.placement, {_flag('c.efficient')} AS efficient, {_flag('c.compact')} AS compact,
       {_flag('c.recall')} AS recall, {_flag('a.hybrid')} AS hybrid,
       a.per_step_compute, a.state_size, c.compute_growth, c.state_growth,
       c.position_e, c.position_c, c.position_r, c.max_pairs, c.recipe_placement,
       a.retrieval, a.confidence, a.arxiv, a.url
FROM architectures a JOIN classifications c ON c.arch_id = a.id"""


def _details(value: object) -> dict:
    if isinstance(value, str):  # a JSON column read through a plain text() query on SQLite
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else ({} if value is None else {'details': value})


def _unlink_unknown_ids(connection: sa.Connection) -> None:
    """Runs whose arch_id is not in architectures: arch_id NULL, the id kept in details.unlinked_arch_id."""
    known = {row[0] for row in connection.execute(sa.text('SELECT id FROM architectures'))}
    for name in RUN_TABLES:
        runs = sa.table(name, sa.column('id'), sa.column('arch_id'), sa.column('details', sa.JSON(none_as_null=True)))
        for run_id, arch_id, details in connection.execute(sa.select(runs.c.id, runs.c.arch_id, runs.c.details)):
            if arch_id is None or arch_id in known:
                continue
            kept = {**_details(details), 'unlinked_arch_id': arch_id}
            connection.execute(runs.update().where(runs.c.id == run_id).values(arch_id=None, details=kept))


def _relink(connection: sa.Connection) -> None:
    """The reverse of _unlink_unknown_ids, for the downgrade."""
    for name in RUN_TABLES:
        runs = sa.table(name, sa.column('id'), sa.column('arch_id'), sa.column('details', sa.JSON(none_as_null=True)))
        for run_id, details in connection.execute(sa.select(runs.c.id, runs.c.details).where(runs.c.arch_id.is_(None))):
            data = _details(details)
            if 'unlinked_arch_id' in data:
                arch_id = data.pop('unlinked_arch_id')
                connection.execute(runs.update().where(runs.c.id == run_id).values(arch_id=arch_id, details=data or None))


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table('architectures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', Text(), nullable=True))
        batch_op.add_column(sa.Column('authors', sa.JSON(), nullable=True))

    op.create_table('architecture_tags',
    sa.Column('arch_id', Text(), nullable=False),
    sa.Column('tag', Text(), nullable=False),
    sa.ForeignKeyConstraint(['arch_id'], ['architectures.id'], name=op.f('fk_architecture_tags_arch_id_architectures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arch_id', 'tag', name=op.f('pk_architecture_tags'))
    )
    with op.batch_alter_table('architecture_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_architecture_tags_tag'), ['tag'], unique=False)

    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_column('hybrid')
        batch_op.add_column(sa.Column('recipe_efficient', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('recipe_compact', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('recipe_recall', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('recipe_placement', Text(), nullable=True))
        batch_op.add_column(sa.Column('recipe_position_e', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('recipe_position_c', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('recipe_position_r', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('recipe_compute_growth', Text(), nullable=True))
        batch_op.add_column(sa.Column('recipe_state_growth', Text(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_classifications_recipe_placement_known'), f'recipe_placement IN ({PLACEMENTS_SQL})'
        )
        batch_op.create_index(batch_op.f('ix_classifications_recipe_placement'), ['recipe_placement'], unique=False)

    _unlink_unknown_ids(connection)
    with op.batch_alter_table('probe_runs', schema=None) as batch_op:
        for old, new in VERDICT_RENAMES:
            batch_op.alter_column(old, new_column_name=new)
    for name in RUN_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source', Text(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{name}_source'), ['source'], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{name}_arch_id_architectures'), 'architectures', ['arch_id'], ['id'],
                deferrable=True, initially='DEFERRED',
            )

    meta = sa.table('meta', sa.column('key'), sa.column('value'))
    connection.execute(meta.delete().where(meta.c.key == APPLICATION_KEY))
    connection.execute(meta.insert().values(key=APPLICATION_KEY, value=APPLICATION))
    if connection.dialect.name == 'sqlite':
        connection.exec_driver_sql(f'PRAGMA application_id = {SQLITE_APPLICATION_ID}')
    op.execute(_view_sql(connection.dialect.name))


def downgrade() -> None:
    connection = op.get_bind()
    op.execute('DROP VIEW architecture_classes')
    if connection.dialect.name == 'sqlite':
        connection.exec_driver_sql('PRAGMA application_id = 0')
    meta = sa.table('meta', sa.column('key'), sa.column('value'))
    connection.execute(meta.delete().where(meta.c.key == APPLICATION_KEY))

    for name in RUN_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{name}_arch_id_architectures'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{name}_source'))
            batch_op.drop_column('source')
    with op.batch_alter_table('probe_runs', schema=None) as batch_op:
        for old, new in VERDICT_RENAMES:
            batch_op.alter_column(new, new_column_name=old)
    _relink(connection)

    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classifications_recipe_placement'))
        batch_op.drop_constraint(op.f('ck_classifications_recipe_placement_known'), type_='check')
        for column in ('recipe_state_growth', 'recipe_compute_growth', 'recipe_position_r', 'recipe_position_c',
                       'recipe_position_e', 'recipe_placement', 'recipe_recall', 'recipe_compact', 'recipe_efficient'):
            batch_op.drop_column(column)
        batch_op.add_column(sa.Column('hybrid', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute('UPDATE classifications SET hybrid = (SELECT a.hybrid FROM architectures a WHERE a.id = classifications.arch_id)')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.alter_column('hybrid', server_default=None)

    with op.batch_alter_table('architecture_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_architecture_tags_tag'))
    op.drop_table('architecture_tags')
    with op.batch_alter_table('architectures', schema=None) as batch_op:
        batch_op.drop_column('authors')
        batch_op.drop_column('title')
