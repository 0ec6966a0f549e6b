-- One vote per user and item.
-- lockstep:up
CREATE TABLE votes (
    user_id BIGINT NOT NULL REFERENCES users (id),
    item_id BIGINT NOT NULL REFERENCES items (id),
    value SMALLINT NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, item_id)
);
-- lockstep:up dialect=mysql
CREATE TABLE votes (
    user_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    value SMALLINT NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, item_id),
    CONSTRAINT votes_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT votes_item_fk FOREIGN KEY (item_id) REFERENCES items (id)
) ENGINE=InnoDB;
-- lockstep:down
DROP TABLE votes;
