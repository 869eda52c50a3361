"""The journal's tables (SQLite). Bump ``VERSION`` and add a step to ``MIGRATIONS`` to change.

No clear card data: a PAN is kept masked for display and sealed (AES-GCM under the terminal's
own key file) for the batch upload; PIN blocks and track data are never stored.
"""

from __future__ import annotations

VERSION = 3

SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS txns (
    id            INTEGER PRIMARY KEY,
    batch         INTEGER NOT NULL,
    stan          INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    currency      TEXT NOT NULL,
    pan_masked    TEXT NOT NULL,
    pan_sealed    BLOB NOT NULL,
    card_org      TEXT NOT NULL,
    domestic      INTEGER NOT NULL,
    entry_mode    TEXT NOT NULL,
    operator      TEXT NOT NULL,
    local_time    TEXT NOT NULL,
    local_date    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    rrn           TEXT NOT NULL DEFAULT '',
    auth_code     TEXT NOT NULL DEFAULT '',
    response_code TEXT NOT NULL DEFAULT '',
    orig_batch    INTEGER,
    orig_stan     INTEGER,
    orig_date     TEXT,
    voided        INTEGER NOT NULL DEFAULT 0,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (batch, stan)
);
CREATE INDEX IF NOT EXISTS txns_state ON txns (state);
CREATE TABLE IF NOT EXISTS reversals (
    id          INTEGER PRIMARY KEY,
    txn_id      INTEGER NOT NULL UNIQUE REFERENCES txns (id),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    last_code   TEXT NOT NULL DEFAULT '',
    done_at     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS settlements (
    batch           INTEGER PRIMARY KEY,
    step            TEXT NOT NULL,
    stan            INTEGER,
    terminal_totals TEXT NOT NULL DEFAULT '',
    host_totals     TEXT NOT NULL DEFAULT '',
    result          TEXT NOT NULL DEFAULT '',
    upload_stan     INTEGER,
    upload_ids      TEXT NOT NULL DEFAULT '',
    uploaded        INTEGER NOT NULL DEFAULT 0,
    end_stan        INTEGER,
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS events (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    kind   TEXT NOT NULL,
    code   TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
CREATE TABLE IF NOT EXISTS print_queue (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    printed_at TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
"""

# v2: the batch upload picks its next 8 records from this index; uploaded rows leave it, so
# each chunk costs the same at record 5,000 as at record 8.
SCHEMA_V2 = """
CREATE INDEX IF NOT EXISTS txns_to_upload ON txns (batch, id) WHERE uploaded = 0
"""

# v3: a failed print is journaled with a stable printer code (terminal/printer/status.py), no
# longer the Python class of the error; the codes nearest to the three classes written before.
SCHEMA_V3 = """
UPDATE events SET code = CASE code WHEN 'PaperOut' THEN 'paper_out'
    WHEN 'PrinterOffline' THEN 'offline' ELSE 'fault' END
 WHERE kind = 'print_failed' AND code IN ('PaperOut', 'PrinterOffline', 'PrinterError');
UPDATE print_queue SET last_error = CASE last_error WHEN 'PaperOut' THEN 'paper_out'
    WHEN 'PrinterOffline' THEN 'offline' ELSE 'fault' END
 WHERE last_error IN ('PaperOut', 'PrinterOffline', 'PrinterError')
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3}
