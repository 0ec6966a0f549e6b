-- Look items up by title without scanning the table. Built online where
-- the database can: PostgreSQL outside a transaction, MariaDB in place.
-- lockstep:up
CREATE INDEX items_title_idx ON items (title);
-- lockstep:up dialect=postgres transaction=false
CREATE INDEX CONCURRENTLY IF NOT EXISTS items_title_idx ON items (title);
-- lockstep:up dialect=mysql
CREATE INDEX items_title_idx ON items (title) ALGORITHM=INPLACE LOCK=NONE;
-- lockstep:down
DROP INDEX items_title_idx;
-- lockstep:down dialect=postgres transaction=false
DROP INDEX CONCURRENTLY IF EXISTS items_title_idx;
-- lockstep:down dialect=mysql
DROP INDEX items_title_idx ON items;
