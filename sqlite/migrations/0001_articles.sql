-- 0001: feeds, articles and their posting state, which feed listed which
-- article, backfill checkpoints.
--
-- Times are INTEGER unix nanoseconds, UTC (NULL when unknown), so that they
-- sort and compare as numbers. Lists (categories, links) are JSON arrays.

CREATE TABLE feeds (
    url           TEXT PRIMARY KEY,
    site          TEXT NOT NULL DEFAULT '',
    title         TEXT NOT NULL DEFAULT '',
    etag          TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    first_poll_at INTEGER,          -- NULL until the first successful poll
    last_poll_at  INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    next_attempt  INTEGER
);

CREATE TABLE articles (
    id              INTEGER PRIMARY KEY,
    site            TEXT NOT NULL,
    key             TEXT NOT NULL,
    canonical_url   TEXT NOT NULL DEFAULT '',  -- articles.CanonicalURL(url)
    guid            TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL DEFAULT '',
    author          TEXT NOT NULL DEFAULT '',
    published       INTEGER,
    image           TEXT NOT NULL DEFAULT '',
    categories      TEXT,                      -- JSON array or NULL
    links           TEXT,                      -- JSON array or NULL
    needs_full_text INTEGER NOT NULL DEFAULT 0,
    full_text_state TEXT NOT NULL DEFAULT '' CHECK (full_text_state IN ('', 'ok', 'failed')),
    feed_url        TEXT NOT NULL DEFAULT '',
    feed_title      TEXT NOT NULL DEFAULT '',
    first_seen      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'recorded'
                    CHECK (state IN ('recorded', 'pending', 'sending', 'posted', 'failed')),
    message_id      TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    UNIQUE (site, key)
);

-- Serves both the lookup within a site (site = ? AND canonical_url = ?) and
-- the lookup across sites (ArticleByURL).
CREATE INDEX articles_canonical_url ON articles (canonical_url, site);
CREATE INDEX articles_state_published ON articles (state, published);
CREATE INDEX articles_need_full_text ON articles (published)
    WHERE needs_full_text = 1 AND full_text_state = '';

-- Which configured feed listed which article, and when it first did: an
-- article is new to a feed when it has no row here for that feed.
CREATE TABLE feed_items (
    feed_url   TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (feed_url, article_id)
) WITHOUT ROWID;

CREATE TABLE backfill_checkpoints (
    feed_url   TEXT PRIMARY KEY,
    site       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    cursor     TEXT NOT NULL DEFAULT '',
    stored     INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at INTEGER
);
