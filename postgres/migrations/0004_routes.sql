-- 0004: routes (see sqlite/migrations/0004): one delivery per (article,
-- channel) with its own posting state and follow-ups; which feeds each
-- channel has seen. Times in unix nanoseconds.

CREATE TABLE deliveries (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    routes     TEXT NOT NULL DEFAULT '',
    roles      TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sending', 'posted', 'failed')),
    message_id TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    attempt_at BIGINT,
    publish_state TEXT NOT NULL DEFAULT '' CHECK (publish_state IN ('', 'pending', 'done', 'failed')),
    publish_after BIGINT,
    publish_error TEXT NOT NULL DEFAULT '',
    thread_state  TEXT NOT NULL DEFAULT '' CHECK (thread_state IN ('', 'pending', 'done', 'failed')),
    thread_after  BIGINT,
    thread_error  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, channel_id)
);
CREATE INDEX deliveries_channel_state ON deliveries (channel_id, state);
CREATE INDEX deliveries_publish ON deliveries (channel_id, publish_state);
CREATE INDEX deliveries_thread ON deliveries (channel_id, thread_state);

CREATE TABLE channel_feeds (
    channel_id TEXT NOT NULL,
    feed_url   TEXT NOT NULL,
    first_at   BIGINT NOT NULL,
    PRIMARY KEY (channel_id, feed_url)
);

INSERT INTO deliveries (article_id, channel_id, routes, state, message_id, attempts, last_error, updated_at)
    SELECT id, '', 'news', state, message_id, attempts, last_error, updated_at
    FROM articles WHERE state IN ('pending', 'sending', 'posted', 'failed');

INSERT INTO channel_feeds (channel_id, feed_url, first_at)
    SELECT '', url, first_poll_at FROM feeds WHERE first_poll_at IS NOT NULL;
