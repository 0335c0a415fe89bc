-- import_svc's schema "workbooks": models and everything parsed from them, and the
-- jobs projection. Every row carries tenant_id and every query filters by it.
-- No foreign keys: cells are bulk-loaded with COPY, and store.py deletes a
-- model's rows together in one transaction.

CREATE TABLE models (
    tenant_id            text        NOT NULL,
    model_id             uuid        NOT NULL,
    display_name         text        NOT NULL,
    file_name            text        NOT NULL,
    sha256               text        NOT NULL,
    size_bytes           bigint      NOT NULL,
    state                text        NOT NULL CHECK (state IN ('IMPORTING', 'READY', 'FAILED')),
    validate             boolean     NOT NULL,
    tolerance_absolute   double precision NOT NULL,
    tolerance_relative   double precision NOT NULL,
    request_id           text,
    import_job_id        uuid        NOT NULL,
    calc_mode            text,
    calc_iterate         boolean     NOT NULL DEFAULT false,
    calc_iterate_count   integer     NOT NULL DEFAULT 100,
    calc_iterate_delta   double precision NOT NULL DEFAULT 0.001,
    calc_full_on_load    boolean     NOT NULL DEFAULT false,
    date1904             boolean     NOT NULL DEFAULT false,
    cells_total          bigint      NOT NULL DEFAULT 0,
    cells_formulas       bigint      NOT NULL DEFAULT 0,
    cells_numbers        bigint      NOT NULL DEFAULT 0,
    cells_strings        bigint      NOT NULL DEFAULT 0,
    cells_booleans       bigint      NOT NULL DEFAULT 0,
    cells_errors         bigint      NOT NULL DEFAULT 0,
    create_time          timestamptz NOT NULL,
    update_time          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, model_id)
);
-- request_id idempotency: the second upload with the same id loses the race here.
CREATE UNIQUE INDEX models_request_id ON models (tenant_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX models_newest_first ON models (tenant_id, create_time DESC, model_id DESC);
-- "does any model of any tenant still refer to this file?"
CREATE INDEX models_sha256 ON models (sha256);

CREATE TABLE sheets (
    tenant_id      text    NOT NULL,
    model_id       uuid    NOT NULL,
    sheet_index    integer NOT NULL,
    name           text    NOT NULL,
    visibility     text    NOT NULL,
    dimension      text    NOT NULL DEFAULT '',
    cell_count     bigint  NOT NULL,
    formula_count  bigint  NOT NULL,
    PRIMARY KEY (tenant_id, model_id, sheet_index)
);

CREATE TABLE defined_names (
    tenant_id  text    NOT NULL,
    model_id   uuid    NOT NULL,
    position   integer NOT NULL,
    name       text    NOT NULL,
    refers_to  text    NOT NULL,
    scope      text,
    hidden     boolean NOT NULL,
    PRIMARY KEY (tenant_id, model_id, position)
);

CREATE TABLE external_links (
    tenant_id      text    NOT NULL,
    model_id       uuid    NOT NULL,
    link_index     integer NOT NULL,
    target         text    NOT NULL,
    sheet_names    text[]  NOT NULL,
    -- [{"name", "refers_to", "scope", "hidden"}]
    defined_names  jsonb   NOT NULL,
    PRIMARY KEY (tenant_id, model_id, link_index)
);

-- Values: value_type 0 empty, 1 number, 2 string, 3 boolean, 4 error (the code in value_text).
CREATE TABLE external_cells (
    tenant_id     text     NOT NULL,
    model_id      uuid     NOT NULL,
    link_index    integer  NOT NULL,
    position      integer  NOT NULL,
    sheet         text     NOT NULL,
    address       text     NOT NULL,
    value_type    smallint NOT NULL,
    value_number  double precision,
    value_text    text,
    value_bool    boolean,
    PRIMARY KEY (tenant_id, model_id, link_index, position)
);

-- Every non-empty cell. formula without its leading "="; formula_kind is the
-- proto's FormulaKind; number_format NULL means General.
CREATE TABLE cells (
    tenant_id      text     NOT NULL,
    model_id       uuid     NOT NULL,
    sheet_index    integer  NOT NULL,
    row_num        integer  NOT NULL,
    col_num        integer  NOT NULL,
    value_type     smallint NOT NULL,
    value_number   double precision,
    value_text     text,
    value_bool     boolean,
    formula        text,
    formula_kind   smallint NOT NULL,
    array_range    text,
    number_format  text,
    PRIMARY KEY (tenant_id, model_id, sheet_index, row_num, col_num)
);

-- The jobs projection of the CALCWIRE_JOB_EVENTS stream: each row is the job
-- as its latest applied event (last_seq) says.
CREATE TABLE jobs (
    tenant_id         text        NOT NULL,
    job_id            uuid        NOT NULL PRIMARY KEY,
    model_id          uuid        NOT NULL,
    kind              text        NOT NULL,
    state             text        NOT NULL,
    stage             text        NOT NULL,
    percent           double precision NOT NULL,
    message           text        NOT NULL,
    error_reason      text,
    error_message     text,
    cancel_requested  boolean     NOT NULL,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL,
    end_time          timestamptz,
    last_seq          bigint      NOT NULL
);
CREATE INDEX jobs_newest_first ON jobs (tenant_id, create_time DESC, job_id DESC);
CREATE INDEX jobs_of_model ON jobs (tenant_id, model_id, create_time DESC);
CREATE INDEX jobs_update_time ON jobs (update_time);

CREATE TABLE job_events (
    tenant_id         text        NOT NULL,
    job_id            uuid        NOT NULL,
    stream_seq        bigint      NOT NULL,
    time              timestamptz NOT NULL,
    state             text        NOT NULL,
    stage             text        NOT NULL,
    percent           double precision NOT NULL,
    message           text        NOT NULL,
    error_reason      text,
    error_message     text,
    cancel_requested  boolean     NOT NULL,
    PRIMARY KEY (job_id, stream_seq)
);
CREATE INDEX job_events_time ON job_events (time);
