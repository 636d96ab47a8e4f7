-- A version per key, so that scripts can update a value atomically (compare-and-set).
ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
