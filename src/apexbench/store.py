"""Storage of the receiving service's records: SQLite (embedded, the default) or PostgreSQL.

One record per received image, one row per face (SQLAlchemy Core, the same two tables on both
databases; created when the store opens):

- ``images``: ``id`` (the record id, increasing), ``file_name``, ``threshold``, ``classifier``,
  ``model_sha256``, ``detector``, ``label_scheme``, ``width``, ``height``, ``image_sha256``,
  ``latency_ms`` (decode + detection + classification of the image), ``detect_ms``, ``created_at``
  (UTC, ISO 8601 text);
- ``faces``: ``image_id``, ``face_id`` (1-based, left to right), the box ``x``, ``y``, ``w``,
  ``h`` (pixels), ``detection_score``, ``emotion`` (null below the threshold), ``emotion_score``
  (the top class's probability), ``scores`` (JSON: every class probability) and ``latency_ms``.

A record and its faces are inserted in one transaction, committed before :meth:`Store.insert`
returns. SQLite runs in WAL mode with a busy timeout (readers never wait for the writer, writers
queue instead of failing); inserts from the threads of one process are also serialised by a lock.

``--db`` takes a file path (SQLite), ``sqlite:///path`` or ``postgresql://user:password@host:port/db``
(driven by psycopg 3).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from .errors import ApexbenchError

SQLITE_BUSY_TIMEOUT_MS = 10_000
MAX_PAGE = 500

METADATA = sa.MetaData()
IMAGES = sa.Table(
    "images", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("classifier", sa.Text, nullable=False),
    sa.Column("model_sha256", sa.String(64)),
    sa.Column("detector", sa.Text, nullable=False),
    sa.Column("label_scheme", sa.Text, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("image_sha256", sa.String(64), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("detect_ms", sa.Float, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
FACES = sa.Table(
    "faces", METADATA,
    sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("face_id", sa.Integer, primary_key=True),
    sa.Column("x", sa.Integer, nullable=False),
    sa.Column("y", sa.Integer, nullable=False),
    sa.Column("w", sa.Integer, nullable=False),
    sa.Column("h", sa.Integer, nullable=False),
    sa.Column("detection_score", sa.Float, nullable=False),
    sa.Column("emotion", sa.Text),
    sa.Column("emotion_score", sa.Float, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)
_IMAGE_FIELDS = [c.name for c in IMAGES.columns if c.name != "id"]


class StoreError(ApexbenchError):
    """The database cannot be opened or used (one line naming it, password hidden)."""


def database_url(db: str) -> URL:
    """The SQLAlchemy URL of ``--db``: a file path or ``sqlite:///`` URL (SQLite), or a
    ``postgresql://`` / ``postgres://`` URL (psycopg 3)."""
    if "://" not in db:
        return URL.create("sqlite", database=str(Path(db).expanduser().resolve()))
    try:
        url = make_url(db)
    except sa.exc.ArgumentError as err:
        raise StoreError(f"--db {db!r} is not a database URL: {err}") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("--db: an in-memory SQLite database would lose every record; give a file")
        return url.set(drivername="sqlite")
    raise StoreError(f"--db: unsupported database {backend!r}; give a file path, sqlite:///path or "
                     "postgresql://user:password@host:port/database")


def _one_line(err: Exception) -> str:
    text = str(getattr(err, "orig", None) or err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


class Store:
    """The records of the service in one database; thread-safe (a connection per operation)."""

    def __init__(self, db: str, create: bool = True):
        self.url = database_url(db)
        self.shown = self.url.render_as_string(hide_password=True)
        self.kind = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        self._write_lock = threading.Lock()
        self.engine: sa.Engine
        try:
            if self.kind == "sqlite":
                if not create and not Path(self.url.database).is_file():
                    raise StoreError(f"no database at {self.url.database}; check --db")
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = sa.create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=8, max_overflow=8,
                                               connect_args={"connect_timeout": 10})
            METADATA.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, OSError) as err:
            raise StoreError(f"cannot open the database {self.shown}: {_one_line(err)}") from None

    def close(self) -> None:
        self.engine.dispose()

    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal``), None on PostgreSQL."""
        if self.kind != "sqlite":
            return None
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA journal_mode").scalar()

    def insert(self, record: dict[str, Any]) -> int:
        """Store ``record`` (image fields and ``faces``) in one committed transaction; returns its id."""
        values = {key: record[key] for key in _IMAGE_FIELDS}
        faces = [_face_row(face) for face in record["faces"]]
        try:
            with self._write_lock, self.engine.begin() as conn:
                image_id = conn.execute(IMAGES.insert().values(**values)).inserted_primary_key[0]
                if faces:
                    conn.execute(FACES.insert(), [{**row, "image_id": image_id} for row in faces])
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"cannot store the record in {self.shown}: {_one_line(err)}") from None
        return int(image_id)

    def ping(self) -> None:
        """StoreError unless the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"database {self.shown} does not answer: {_one_line(err)}") from None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(IMAGES)).scalar_one())

    def get(self, image_id: int) -> dict | None:
        records = self._records(IMAGES.c.id == image_id, limit=1)
        return records[0] if records else None

    def page(self, limit: int, after: int = 0) -> list[dict]:
        """Up to ``limit`` (<= MAX_PAGE) records with ``id > after``, by id."""
        return self._records(IMAGES.c.id > after, limit=min(limit, MAX_PAGE))

    def iter_all(self, page_size: int = MAX_PAGE) -> Iterator[dict]:
        after = 0
        while True:
            records = self.page(page_size, after)
            yield from records
            if len(records) < page_size:
                return
            after = records[-1]["id"]

    def _records(self, where, limit: int) -> list[dict]:
        with self.engine.connect() as conn:
            images = conn.execute(sa.select(IMAGES).where(where).order_by(IMAGES.c.id).limit(limit)).mappings().all()
            ids = [row["id"] for row in images]
            faces: dict[int, list[dict]] = {i: [] for i in ids}
            if ids:
                rows = conn.execute(sa.select(FACES).where(FACES.c.image_id.in_(ids))
                                    .order_by(FACES.c.image_id, FACES.c.face_id)).mappings().all()
                for row in rows:
                    faces[row["image_id"]].append(face_record(row))
        return [{**image_record(row), "faces": faces[row["id"]]} for row in images]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _face_row(face: dict) -> dict:
    x, y, w, h = face["box"]
    return {"face_id": face["face_id"], "x": x, "y": y, "w": w, "h": h,
            "detection_score": face["detection_score"], "emotion": face["emotion"],
            "emotion_score": max(face["scores"].values()) if face["scores"] else 0.0,
            "scores": face["scores"], "latency_ms": face["latency_ms"]}


def bbox_strings(x: int, y: int, w: int, h: int) -> list[str]:
    """The seed's ``bbox``: corners x0, y0, x1, y1 in pixels, as strings (``["109","160","192","243"]``)."""
    return [str(x), str(y), str(x + w), str(y + h)]


def face_record(row) -> dict:
    """A face as the service answers it: the seed's fields (face_id, the emotion as a key with its
    probability when it reaches the threshold, bbox as corner strings) and the rest."""
    out: dict[str, Any] = {"face_id": row["face_id"]}
    if row["emotion"] is not None:
        out[row["emotion"]] = row["emotion_score"]
    out.update(emotion=row["emotion"], bbox=bbox_strings(row["x"], row["y"], row["w"], row["h"]),
               box=[row["x"], row["y"], row["w"], row["h"]], detection_score=row["detection_score"],
               scores=dict(row["scores"]), latency_ms=row["latency_ms"])
    return out


def image_record(row) -> dict:
    return {"id": row["id"], **{key: row[key] for key in _IMAGE_FIELDS}}


def export_document(records) -> dict:
    """The seed's ``{"images": [...]}`` document: per image ``file_name``, ``threshold`` and
    ``faces`` with ``face_id``, the emotion key and ``bbox`` (corner strings); extra fields: the
    record ``id`` and each face's ``detection_score``."""
    images = []
    for record in records:
        faces = []
        for face in record["faces"]:
            out = {"face_id": face["face_id"]}
            if face["emotion"] is not None:
                out[face["emotion"]] = face[face["emotion"]]
            out.update(bbox=face["bbox"], detection_score=face["detection_score"])
            faces.append(out)
        images.append({"id": record["id"], "file_name": record["file_name"], "threshold": record["threshold"],
                       "faces": faces})
    return {"images": images}
