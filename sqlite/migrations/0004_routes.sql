-- 0004: routes. Each article goes to every channel whose routes accept it,
-- as one delivery per (article, channel) with its own posting state; which
-- feeds each channel has seen (its first sight of a feed posts only the
-- backlog).
--
-- Deliveries made before routes existed went to NEWS_CHANNEL_ID, which the
-- database never stored: they get channel '' here and the first start of
-- this version records the channel (AdoptDeliveries).

CREATE TABLE deliveries (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    routes     TEXT NOT NULL DEFAULT '',   -- names of the accepting routes, comma-separated
    roles      TEXT NOT NULL DEFAULT '',   -- their roles, comma-separated
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sending', 'posted', 'failed')),
    message_id TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    attempt_at INTEGER,                -- when the last send was attempted (forum posts are looked for back to it)
    -- Follow-ups of a posted delivery, queued by the same UPDATE that marks
    -- it posted, each with its own hold-off: publishing (announcement
    -- channels) and a discussion thread on the post.
    publish_state TEXT NOT NULL DEFAULT '' CHECK (publish_state IN ('', 'pending', 'done', 'failed')),
    publish_after INTEGER,
    publish_error TEXT NOT NULL DEFAULT '',
    thread_state  TEXT NOT NULL DEFAULT '' CHECK (thread_state IN ('', 'pending', 'done', 'failed')),
    thread_after  INTEGER,
    thread_error  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, channel_id)
);
CREATE INDEX deliveries_channel_state ON deliveries (channel_id, state);
CREATE INDEX deliveries_publish ON deliveries (channel_id, publish_state);
CREATE INDEX deliveries_thread ON deliveries (channel_id, thread_state);

CREATE TABLE channel_feeds (
    channel_id TEXT NOT NULL,
    feed_url   TEXT NOT NULL,
    first_at   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, feed_url)
);

INSERT INTO deliveries (article_id, channel_id, routes, state, message_id, attempts, last_error, updated_at)
    SELECT id, '', 'news', state, message_id, attempts, last_error, updated_at
    FROM articles WHERE state IN ('pending', 'sending', 'posted', 'failed');

INSERT INTO channel_feeds (channel_id, feed_url, first_at)
    SELECT '', url, first_poll_at FROM feeds WHERE first_poll_at IS NOT NULL;
