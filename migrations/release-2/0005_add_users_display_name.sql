-- A display name, optional so that release 1 keeps inserting users.
-- lockstep:up
ALTER TABLE users ADD COLUMN display_name VARCHAR(100) NULL;
-- lockstep:down
ALTER TABLE users DROP COLUMN display_name;
