-- The store's trees (see src/store/mod.rs): one row per key. The primary key makes every
-- index tree's key unique, the finding dedupe keys among them.
CREATE TABLE netra_kv (
    tree  text  NOT NULL,
    key   bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (tree, key)
);
