"""Flask extensions, created unbound here and bound to the app by `create_app`."""

import os
import select

import marshmallow as ma
from flask_cors import CORS
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from gevent.monkey import get_original
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

# The operating system's poll, even where gevent patched `select` (gunicorn's gevent workers): gevent's
# poll(0) yields to the other greenlets, and a checkout that yields holds its connection while they run,
# each checking out one more: the pool then opens (and on checkin closes) a connection per request.
_poll = get_original("select", "poll")

# Stable constraint names, so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ErrorEnvelopeSchema(ma.Schema):
    """Documents the hub's error answers. Each domain answers in its clients' envelope: `{"detail"}`
    (FastAPI style: a text, or a list of {loc, msg, type} for validation), `{"detail", "code"}` (DTech),
    `{"success": false, "error", "message"}` (link tracking)."""

    class Meta:
        unknown = ma.INCLUDE

    detail = ma.fields.Raw(metadata={"description": "What went wrong: a text, an object or a list of field errors"})
    code = ma.fields.String(metadata={"description": "Machine-readable error code (DTech)"})
    success = ma.fields.Boolean(metadata={"description": "Always false (link tracking)"})
    error = ma.fields.String(metadata={"description": "Error name (link tracking)"})
    message = ma.fields.String(metadata={"description": "Error message (link tracking)"})


class HubApi(Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = HubApi()
cors = CORS()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets web, worker and scheduler share the SQLite file; foreign keys are off by default."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _replace_closed_connections(dbapi_connection, _record, _proxy):
    """Hand out no PostgreSQL connection the server has closed (a restart, a terminated backend, an idle
    timeout). The server's farewell and end-of-file then wait on the idle socket, so looking at the socket
    is enough; SQLAlchemy's `pool_pre_ping` would cost a round trip on every checkout instead. On
    DisconnectionError the pool discards the connection and checks out another."""
    if not type(dbapi_connection).__module__.startswith("psycopg2"):
        return
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    poller = _poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


def _dispose_pools_after_fork():
    """A child forked after its parent used the database must not share the parent's pooled connections.
    Nothing forks so today (gunicorn loads the app in each worker, RQ runs jobs in a SimpleWorker without a
    work horse); this keeps `preload_app` or a forking worker class safe should either be chosen."""
    for engine in db._app_engines.values() if hasattr(db, "_app_engines") else ():
        for bound in engine.values():
            bound.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_pools_after_fork)
