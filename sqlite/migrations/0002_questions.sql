-- 0002: /ask questions, the team's answers, and members paused from asking.
--
-- Times are INTEGER unix nanoseconds, UTC (NULL when unknown), as in 0001.
-- A question is stored before it is forwarded; forwarded = 0 keeps it queued
-- for the retry loop. forward_attempts > 0 means an earlier send may have
-- reached Discord (look for it before sending again).

CREATE TABLE questions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- the member's #N, never reused
    guild_id         TEXT NOT NULL DEFAULT '',
    channel_id       TEXT NOT NULL DEFAULT '',
    user_id          TEXT NOT NULL,
    user_name        TEXT NOT NULL DEFAULT '',
    text             TEXT NOT NULL,
    asked_at         INTEGER NOT NULL,
    forwarded        INTEGER NOT NULL DEFAULT 0,
    forward_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt     INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    team_channel_id  TEXT NOT NULL DEFAULT '',
    team_message_id  TEXT NOT NULL DEFAULT '',
    team_thread_id   TEXT NOT NULL DEFAULT '',
    member_thread_id TEXT NOT NULL DEFAULT '',  -- private thread used when DMs are closed
    team_stale       INTEGER NOT NULL DEFAULT 0, -- the team message misses a change (edit failed)
    forwarded_at     INTEGER,
    closed_at        INTEGER,
    closed_by        TEXT NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL
);

-- The rate limit (questions of one member since a time).
CREATE INDEX questions_user_asked ON questions (user_id, asked_at);
-- The retry loop's queue.
CREATE INDEX questions_queued ON questions (next_attempt) WHERE forwarded = 0;
CREATE INDEX questions_team_stale ON questions (id) WHERE team_stale = 1;

CREATE TABLE answers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id    INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    team_user_id   TEXT NOT NULL DEFAULT '',
    team_user_name TEXT NOT NULL DEFAULT '',
    text           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    how            TEXT NOT NULL DEFAULT '' CHECK (how IN ('', 'dm', 'thread', 'channel')),
    target_id      TEXT NOT NULL DEFAULT '',  -- DM channel, private thread or channel
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   INTEGER,
    last_error     TEXT NOT NULL DEFAULT '',
    delivered_at   INTEGER,
    updated_at     INTEGER NOT NULL
);

CREATE INDEX answers_question ON answers (question_id, id);
CREATE INDEX answers_pending ON answers (question_id, id) WHERE state = 'pending';

CREATE TABLE ask_blocks (
    user_id    TEXT PRIMARY KEY,
    until      INTEGER NOT NULL,
    blocked_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
