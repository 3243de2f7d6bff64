"""insight tables: customers, their actions, processed batches, SMS messages and SMS templates.

Revision ID: 0005_insight
Revises: 0004_fastcore
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005_insight"
down_revision = "0004_fastcore"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('insight_batch',
    sa.Column('batch_id', sa.String(length=100), nullable=False),
    sa.Column('performed_by', sa.String(length=254), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('customers_created', sa.Integer(), nullable=False),
    sa.Column('customers_updated', sa.Integer(), nullable=False),
    sa.Column('actions_created', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_insight_batch'))
    )
    op.create_table('insight_customer',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('account_number', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('arrears', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_customer')),
    sa.UniqueConstraint('account_number', name=op.f('uq_insight_customer_account_number'))
    )
    with op.batch_alter_table('insight_customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insight_customer_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_insight_customer_status'), ['status'], unique=False)

    op.create_table('insight_sms_template',
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('action', name=op.f('pk_insight_sms_template'))
    )
    op.create_table('insight_action',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('performed_by', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['insight_customer.id'], name=op.f('fk_insight_action_customer_id_insight_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_action'))
    )
    with op.batch_alter_table('insight_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insight_action_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_insight_action_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_insight_action_customer_time', ['customer_id', 'created_at'], unique=False)

    op.create_table('insight_sms',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('recipients', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('outbox_id', sa.String(length=36), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('performed_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['insight_customer.id'], name=op.f('fk_insight_sms_customer_id_insight_customer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_sms'))
    )
    with op.batch_alter_table('insight_sms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insight_sms_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_insight_sms_customer_id'), ['customer_id'], unique=False)


def downgrade():
    for table in ("insight_sms", "insight_action", "insight_sms_template", "insight_customer", "insight_batch"):
        op.drop_table(table)
