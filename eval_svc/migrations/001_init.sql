-- eval_svc's schema "evaluation": the computed value of every formula cell of a
-- model's latest evaluation, a summary row per model, and EvaluateModel's
-- request ids. Every row carries tenant_id and every query filters by it.
-- No foreign keys: values are bulk-loaded with COPY, and store.py replaces a
-- model's rows in one transaction.

-- Values: value_type 0 empty, 1 number, 2 string, 3 boolean, 4 error (the code
-- in value_text). status: computed, not_computable or circular.
CREATE TABLE computed_values (
    tenant_id     text     NOT NULL,
    model_id      uuid     NOT NULL,
    sheet_index   integer  NOT NULL,
    sheet_name    text     NOT NULL,
    row_num       integer  NOT NULL,
    col_num       integer  NOT NULL,
    value_type    smallint NOT NULL,
    value_number  double precision,
    value_text    text,
    value_bool    boolean,
    status        text     NOT NULL CHECK (status IN ('computed', 'not_computable', 'circular')),
    reason        text,
    volatile      boolean  NOT NULL,
    PRIMARY KEY (tenant_id, model_id, sheet_index, row_num, col_num)
);

-- One row per evaluated model: which job wrote the values, how many, how long.
CREATE TABLE evaluations (
    tenant_id        text        NOT NULL,
    model_id         uuid        NOT NULL,
    job_id           uuid        NOT NULL,
    formula_cells    bigint      NOT NULL,
    computed         bigint      NOT NULL,
    not_computable   bigint      NOT NULL,
    circular         bigint      NOT NULL,
    volatile         bigint      NOT NULL,
    load_seconds     double precision NOT NULL,
    compile_seconds  double precision NOT NULL,
    compute_seconds  double precision NOT NULL,
    write_seconds    double precision NOT NULL,
    evaluate_time    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, model_id)
);

-- EvaluateModel's request_id: the same id from the same tenant gets the first job.
CREATE TABLE evaluate_requests (
    tenant_id    text        NOT NULL,
    request_id   text        NOT NULL,
    model_id     uuid        NOT NULL,
    job_id       uuid        NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id)
);
