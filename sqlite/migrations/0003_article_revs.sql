-- 0003: a change counter for articles, so that the relatedness index (and
-- anything else that follows the articles) can ask "what changed since
-- rev R" and never miss an insert or an edit, whichever process wrote it;
-- and the pages that /related failed to read (remembered for a while).
--
-- Every insert of an article, and every update of a field the index reads,
-- takes the next value of the single counter in article_rev, in the same
-- transaction (triggers, so that no write path can forget it). SQLite
-- commits one write transaction at a time, so once a reader sees counter
-- value R, every article with rev <= R is committed and visible.

ALTER TABLE articles ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;

-- Existing rows: their ids are in insertion order, a valid history.
UPDATE articles SET rev = id;

CREATE TABLE article_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO article_rev (id, rev) VALUES (1, (SELECT coalesce(max(id), 0) FROM articles));

CREATE INDEX articles_rev ON articles (rev);

CREATE TRIGGER articles_rev_insert AFTER INSERT ON articles
BEGIN
    UPDATE article_rev SET rev = rev + 1 WHERE id = 1;
    UPDATE articles SET rev = (SELECT rev FROM article_rev WHERE id = 1) WHERE id = NEW.id;
END;

-- Posting state, attempts and the like do not change what an article says:
-- only the fields the index reads take a new rev.
CREATE TRIGGER articles_rev_update
AFTER UPDATE OF site, url, title, summary, text, published, categories, links ON articles
WHEN OLD.site IS NOT NEW.site OR OLD.url IS NOT NEW.url OR OLD.title IS NOT NEW.title
    OR OLD.summary IS NOT NEW.summary OR OLD.text IS NOT NEW.text
    OR OLD.published IS NOT NEW.published OR OLD.categories IS NOT NEW.categories
    OR OLD.links IS NOT NEW.links
BEGIN
    UPDATE article_rev SET rev = rev + 1 WHERE id = 1;
    UPDATE articles SET rev = (SELECT rev FROM article_rev WHERE id = 1) WHERE id = NEW.id;
END;

-- Pages of unknown links that /related could not read: not read again
-- before retry_at.
CREATE TABLE page_failures (
    url       TEXT PRIMARY KEY,   -- articles.CanonicalURL of the link
    error     TEXT NOT NULL DEFAULT '',
    failed_at INTEGER NOT NULL,
    retry_at  INTEGER NOT NULL
);
