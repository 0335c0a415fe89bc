-- validation_svc's schema "validation": the latest validation of each model,
-- cell by cell, and its summary. Every row carries tenant_id and every query
-- filters by it. A run's rows replace the model's earlier rows in one
-- transaction (store.py), so readers see one whole run or the one before it.

-- One row per formula cell. Values are typed as in import_svc: value_type 0
-- empty, 1 number, 2 string, 3 boolean, 4 error (the code in the _text column).
-- status is calcwire.common.v1.CellStatus without its prefix.
-- abs_diff: |computed - cached| when both are numbers, else NULL.
-- mismatch_rank (MISMATCH rows only) orders ListMismatches with one ascending
-- key: -abs_diff for numbers (largest difference first), +Infinity for text,
-- logical, error and type mismatches (after every number).
CREATE TABLE cell_results (
    tenant_id        text     NOT NULL,
    model_id         uuid     NOT NULL,
    sheet_index      integer  NOT NULL,
    sheet_name       text     NOT NULL,
    row_num          integer  NOT NULL,
    col_num          integer  NOT NULL,
    formula          text     NOT NULL,
    cached_type      smallint NOT NULL,
    cached_number    double precision,
    cached_text      text,
    cached_bool      boolean,
    computed_type    smallint NOT NULL,
    computed_number  double precision,
    computed_text    text,
    computed_bool    boolean,
    status           text     NOT NULL CHECK (status IN ('MATCH', 'MISMATCH', 'NOT_CACHED',
                                                         'NOT_COMPUTABLE', 'VOLATILE', 'CIRCULAR')),
    reason           text,
    abs_diff         double precision,
    mismatch_rank    double precision,
    PRIMARY KEY (tenant_id, model_id, sheet_index, row_num, col_num)
);
-- ListCellResults / ListUncalculated / ListCells with a status: one status at a time in
-- cell order.
CREATE INDEX cell_results_by_status
    ON cell_results (tenant_id, model_id, status, sheet_index, row_num, col_num);
-- ListMismatches: largest difference first, over the model or one sheet.
CREATE INDEX cell_results_mismatches
    ON cell_results (tenant_id, model_id, mismatch_rank, sheet_index, row_num, col_num)
    WHERE status = 'MISMATCH';
CREATE INDEX cell_results_sheet_mismatches
    ON cell_results (tenant_id, model_id, sheet_index, mismatch_rank, row_num, col_num)
    WHERE status = 'MISMATCH';

-- One row per validated model: the latest run's summary.
-- sheets: [{"index", "name", "counts": {formula_cells, match, ...}}] in workbook order;
-- largest_mismatches: [{"sheet", "row", "column", "formula", "cached", "computed",
-- "reason", "abs_diff"}] (values as in calcwire.values' JSON form), largest first.
CREATE TABLE summaries (
    tenant_id           text        NOT NULL,
    model_id            uuid        NOT NULL,
    job_id              uuid        NOT NULL,
    tolerance_absolute  double precision NOT NULL,
    tolerance_relative  double precision NOT NULL,
    formula_cells       bigint      NOT NULL,
    match               bigint      NOT NULL,
    mismatch            bigint      NOT NULL,
    not_cached          bigint      NOT NULL,
    not_computable      bigint      NOT NULL,
    volatile            bigint      NOT NULL,
    circular            bigint      NOT NULL,
    sheets              jsonb       NOT NULL,
    largest_mismatches  jsonb       NOT NULL,
    calc_mode           text        NOT NULL,
    findings            text[]      NOT NULL,
    create_time         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, model_id)
);

-- ValidateModel's request_id: the same id from the same tenant returns the first job.
CREATE TABLE validate_requests (
    tenant_id    text        NOT NULL,
    request_id   text        NOT NULL,
    model_id     uuid        NOT NULL,
    job_id       uuid        NOT NULL,
    -- the work order's options (the tolerance), to queue the same order again
    options      jsonb       NOT NULL,
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
