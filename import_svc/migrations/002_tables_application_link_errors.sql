-- What the engine needs of a model that 001 did not keep: the program that saved
-- the file (CHAR and CODE follow Mac Excel's character set in files it saved), the
-- Excel Tables that structured references resolve against, and per external link
-- the sheets Excel could not read when it last refreshed it (references into them
-- are #REF!).

ALTER TABLE models ADD COLUMN application text NOT NULL DEFAULT '';

ALTER TABLE external_links ADD COLUMN refresh_error_sheets text[] NOT NULL DEFAULT '{}';

CREATE TABLE excel_tables (
    tenant_id         text     NOT NULL,
    model_id          uuid     NOT NULL,
    position          integer  NOT NULL,
    name              text     NOT NULL,
    display_name      text     NOT NULL,
    sheet             text     NOT NULL,
    ref               text     NOT NULL,
    columns           text[]   NOT NULL,
    header_row_count  smallint NOT NULL,
    totals_row_count  smallint NOT NULL,
    PRIMARY KEY (tenant_id, model_id, position)
);
