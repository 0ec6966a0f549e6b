-- Sum an item's votes from the index alone.
-- lockstep:up
CREATE INDEX votes_item_idx ON votes (item_id, value);
-- lockstep:up dialect=postgres transaction=false
CREATE INDEX CONCURRENTLY IF NOT EXISTS votes_item_idx ON votes (item_id, value);
-- lockstep:up dialect=mysql
CREATE INDEX votes_item_idx ON votes (item_id, value) ALGORITHM=INPLACE LOCK=NONE;
-- lockstep:down
DROP INDEX votes_item_idx;
-- lockstep:down dialect=postgres transaction=false
DROP INDEX CONCURRENTLY IF EXISTS votes_item_idx;
-- lockstep:down dialect=mysql
DROP INDEX votes_item_idx ON votes;
