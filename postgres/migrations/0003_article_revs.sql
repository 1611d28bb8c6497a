-- 0003: a change counter for articles (see sqlite/migrations/0003): every
-- insert of an article, and every change to a field the index reads, takes
-- the next value of the single counter in article_rev, in the writing
-- transaction. The trigger's UPDATE of the counter row locks it until that
-- transaction ends, so writers of articles take turns and revs become
-- visible in commit order: once a reader sees counter value R, every
-- article with rev <= R is committed. Also the pages that /related failed
-- to read.

ALTER TABLE articles ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;

-- Existing rows: their ids are in insertion order, a valid history.
UPDATE articles SET rev = id;

CREATE TABLE article_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO article_rev (id, rev) VALUES (1, (SELECT coalesce(max(id), 0) FROM articles));

CREATE INDEX articles_rev ON articles (rev);

CREATE FUNCTION articles_next_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE article_rev SET rev = rev + 1 WHERE id = 1 RETURNING rev INTO NEW.rev;
    RETURN NEW;
END;
$$;

CREATE TRIGGER articles_rev_insert BEFORE INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_next_rev();

-- Posting state, attempts and the like do not change what an article says:
-- only the fields the index reads take a new rev.
CREATE TRIGGER articles_rev_update BEFORE UPDATE ON articles
    FOR EACH ROW
    WHEN (OLD.site IS DISTINCT FROM NEW.site OR OLD.url IS DISTINCT FROM NEW.url
        OR OLD.title IS DISTINCT FROM NEW.title OR OLD.summary IS DISTINCT FROM NEW.summary
        OR OLD.text IS DISTINCT FROM NEW.text OR OLD.published IS DISTINCT FROM NEW.published
        OR OLD.categories IS DISTINCT FROM NEW.categories OR OLD.links IS DISTINCT FROM NEW.links)
    EXECUTE FUNCTION articles_next_rev();

-- Pages of unknown links that /related could not read: not read again
-- before retry_at.
CREATE TABLE page_failures (
    url       TEXT PRIMARY KEY,   -- articles.CanonicalURL of the link
    error     TEXT NOT NULL DEFAULT '',
    failed_at BIGINT NOT NULL,
    retry_at  BIGINT NOT NULL
);
