package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/newsbot/newsbot/commands"
)

// The /ask store (migration 0002): questions, answers, blocks.

var _ commands.QuestionStore = (*DB)(nil)

// qNanos stores t as unix nanoseconds, NULL for the zero time.
func qNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func qTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func qNow() int64 { return time.Now().UnixNano() }

// CreateQuestion implements commands.QuestionStore.
func (db *DB) CreateQuestion(ctx context.Context, q *commands.Question) (int64, error) {
	if q.UserID == "" {
		return 0, errors.New("sqlite: create question: no user id")
	}
	next := q.NextAttempt
	if next.IsZero() {
		next = q.AskedAt
	}
	res, err := db.exec(ctx, `INSERT INTO questions
		(guild_id, channel_id, user_id, user_name, text, asked_at, next_attempt, team_channel_id, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		q.GuildID, q.ChannelID, q.UserID, q.UserName, q.Text, q.AskedAt.UnixNano(), qNanos(next), q.TeamChannelID, qNow())
	if err != nil {
		return 0, fmt.Errorf("sqlite: create question: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: create question: %w", err)
	}
	return id, nil
}

const questionColumns = `id, guild_id, channel_id, user_id, user_name, text, asked_at,
	forwarded, forward_attempts, next_attempt, last_error, team_channel_id, team_message_id,
	team_thread_id, member_thread_id, forwarded_at, closed_at, closed_by, team_stale`

type rowScanner interface{ Scan(dest ...any) error }

func scanQuestion(r rowScanner) (*commands.Question, error) {
	var q commands.Question
	var asked int64
	var next, fwdAt, closedAt sql.NullInt64
	if err := r.Scan(&q.ID, &q.GuildID, &q.ChannelID, &q.UserID, &q.UserName, &q.Text, &asked,
		&q.Forwarded, &q.ForwardAttempts, &next, &q.LastError, &q.TeamChannelID, &q.TeamMessageID,
		&q.TeamThreadID, &q.MemberThreadID, &fwdAt, &closedAt, &q.ClosedBy, &q.TeamStale); err != nil {
		return nil, err
	}
	q.AskedAt = time.Unix(0, asked).UTC()
	q.NextAttempt = qTime(next)
	q.ForwardedAt = qTime(fwdAt)
	q.ClosedAt = qTime(closedAt)
	return &q, nil
}

// Question implements commands.QuestionStore.
func (db *DB) Question(ctx context.Context, id int64) (*commands.Question, error) {
	q, err := scanQuestion(db.SQL().QueryRowContext(ctx, `SELECT `+questionColumns+` FROM questions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: question %d: %w", id, commands.ErrQuestionNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: question %d: %w", id, err)
	}
	return q, nil
}

// QuestionTimes implements commands.QuestionStore.
func (db *DB) QuestionTimes(ctx context.Context, userID string, since time.Time) ([]time.Time, error) {
	rows, err := db.SQL().QueryContext(ctx,
		`SELECT asked_at FROM questions WHERE user_id = ? AND asked_at > ? ORDER BY asked_at`,
		userID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqlite: question times: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: question times: %w", err)
		}
		out = append(out, time.Unix(0, n).UTC())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: question times: %w", err)
	}
	return out, nil
}

// execOne runs an UPDATE that must touch one question or answer row.
func (db *DB) execOne(ctx context.Context, what string, id int64, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, commands.ErrQuestionNotFound)
	}
	return nil
}

// MarkForwardAttempt implements commands.QuestionStore.
func (db *DB) MarkForwardAttempt(ctx context.Context, id int64, at time.Time) error {
	return db.execOne(ctx, "mark forward attempt", id,
		`UPDATE questions SET forward_attempts = forward_attempts + 1, updated_at = ? WHERE id = ?`, qNow(), id)
}

// MarkForwarded implements commands.QuestionStore.
func (db *DB) MarkForwarded(ctx context.Context, id int64, teamChannelID, messageID string, at time.Time) error {
	return db.execOne(ctx, "mark forwarded", id,
		`UPDATE questions SET forwarded = 1, team_channel_id = ?, team_message_id = ?, forwarded_at = ?,
		 next_attempt = NULL, last_error = '', updated_at = ? WHERE id = ?`,
		teamChannelID, messageID, qNanos(at), qNow(), id)
}

// SetTeamThread implements commands.QuestionStore.
func (db *DB) SetTeamThread(ctx context.Context, id int64, threadID string) error {
	return db.execOne(ctx, "set team thread", id,
		`UPDATE questions SET team_thread_id = ?, updated_at = ? WHERE id = ?`, threadID, qNow(), id)
}

// MarkForwardFailed implements commands.QuestionStore.
func (db *DB) MarkForwardFailed(ctx context.Context, id int64, next time.Time, errText string) error {
	return db.execOne(ctx, "mark forward failed", id,
		`UPDATE questions SET next_attempt = ?, last_error = ?, updated_at = ? WHERE id = ? AND forwarded = 0`,
		qNanos(next), errText, qNow(), id)
}

// DueForwards implements commands.QuestionStore.
func (db *DB) DueForwards(ctx context.Context, now time.Time, limit int) ([]commands.Question, error) {
	return db.queryQuestions(ctx, "due forwards", `SELECT `+questionColumns+` FROM questions
		WHERE forwarded = 0 AND (next_attempt IS NULL OR next_attempt <= ?) ORDER BY id LIMIT ?`,
		now.UnixNano(), limit)
}

// MarkTeamMessage implements commands.QuestionStore.
func (db *DB) MarkTeamMessage(ctx context.Context, id int64, stale bool) error {
	return db.execOne(ctx, "mark team message", id,
		`UPDATE questions SET team_stale = ?, updated_at = ? WHERE id = ?`, stale, qNow(), id)
}

// StaleTeamMessages implements commands.QuestionStore.
func (db *DB) StaleTeamMessages(ctx context.Context, limit int) ([]commands.Question, error) {
	return db.queryQuestions(ctx, "stale team messages", `SELECT `+questionColumns+` FROM questions
		WHERE team_stale = 1 ORDER BY id LIMIT ?`, limit)
}

func (db *DB) queryQuestions(ctx context.Context, what, query string, args ...any) ([]commands.Question, error) {
	rows, err := db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []commands.Question
	for rows.Next() {
		q, err := scanQuestion(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, *q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

// CloseQuestion implements commands.QuestionStore.
func (db *DB) CloseQuestion(ctx context.Context, id int64, by string, at time.Time) (bool, error) {
	res, err := db.exec(ctx,
		`UPDATE questions SET closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ? AND closed_at IS NULL`,
		at.UnixNano(), by, qNow(), id)
	if err != nil {
		return false, fmt.Errorf("sqlite: close question %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: close question %d: %w", id, err)
	}
	if n == 1 {
		return true, nil
	}
	if _, err := db.Question(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// SetMemberThread implements commands.QuestionStore.
func (db *DB) SetMemberThread(ctx context.Context, id int64, threadID string) error {
	return db.execOne(ctx, "set member thread", id,
		`UPDATE questions SET member_thread_id = ?, updated_at = ? WHERE id = ?`, threadID, qNow(), id)
}

// AddAnswer implements commands.QuestionStore.
func (db *DB) AddAnswer(ctx context.Context, a *commands.Answer) (int64, error) {
	res, err := db.exec(ctx, `INSERT INTO answers
		(question_id, team_user_id, team_user_name, text, created_at, next_attempt, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.QuestionID, a.TeamUserID, a.TeamUserName, a.Text, a.CreatedAt.UnixNano(), a.CreatedAt.UnixNano(), qNow())
	if err != nil {
		return 0, fmt.Errorf("sqlite: add answer to question %d: %w", a.QuestionID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: add answer to question %d: %w", a.QuestionID, err)
	}
	return id, nil
}

const answerColumns = `id, question_id, team_user_id, team_user_name, text, created_at, state, how,
	target_id, attempts, next_attempt, last_error, delivered_at`

func scanAnswer(r rowScanner) (commands.Answer, error) {
	var a commands.Answer
	var created int64
	var next, delivered sql.NullInt64
	err := r.Scan(&a.ID, &a.QuestionID, &a.TeamUserID, &a.TeamUserName, &a.Text, &created, &a.State, &a.How,
		&a.TargetID, &a.Attempts, &next, &a.LastError, &delivered)
	a.CreatedAt = time.Unix(0, created).UTC()
	a.NextAttempt = qTime(next)
	a.DeliveredAt = qTime(delivered)
	return a, err
}

func (db *DB) queryAnswers(ctx context.Context, what, query string, args ...any) ([]commands.Answer, error) {
	rows, err := db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []commands.Answer
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

// Answers implements commands.QuestionStore.
func (db *DB) Answers(ctx context.Context, questionID int64) ([]commands.Answer, error) {
	return db.queryAnswers(ctx, "answers", `SELECT `+answerColumns+` FROM answers
		WHERE question_id = ? ORDER BY id`, questionID)
}

// MarkAnswerDelivered implements commands.QuestionStore.
func (db *DB) MarkAnswerDelivered(ctx context.Context, id int64, how, targetID string, at time.Time) error {
	return db.execOne(ctx, "mark answer delivered", id,
		`UPDATE answers SET state = 'delivered', how = ?, target_id = ?, delivered_at = ?,
		 next_attempt = NULL, last_error = '', updated_at = ? WHERE id = ?`,
		how, targetID, at.UnixNano(), qNow(), id)
}

// MarkAnswerAttempt implements commands.QuestionStore.
func (db *DB) MarkAnswerAttempt(ctx context.Context, id int64) error {
	return db.execOne(ctx, "mark answer attempt", id,
		`UPDATE answers SET attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'pending'`, qNow(), id)
}

// MarkAnswerRetry implements commands.QuestionStore.
func (db *DB) MarkAnswerRetry(ctx context.Context, id int64, next time.Time, errText string) error {
	return db.execOne(ctx, "mark answer retry", id,
		`UPDATE answers SET next_attempt = ?, last_error = ?, updated_at = ?
		 WHERE id = ? AND state = 'pending'`,
		qNanos(next), errText, qNow(), id)
}

// MarkAnswerFailed implements commands.QuestionStore.
func (db *DB) MarkAnswerFailed(ctx context.Context, id int64, errText string, at time.Time) error {
	return db.execOne(ctx, "mark answer failed", id,
		`UPDATE answers SET state = 'failed', next_attempt = NULL, last_error = ?,
		 updated_at = ? WHERE id = ?`, errText, qNow(), id)
}

// headAnswers selects the oldest pending answer of each question.
const headAnswers = `FROM answers a WHERE a.state = 'pending'
	AND a.id = (SELECT MIN(b.id) FROM answers b WHERE b.question_id = a.question_id AND b.state = 'pending')`

// DueAnswers implements commands.QuestionStore.
func (db *DB) DueAnswers(ctx context.Context, now time.Time, limit int) ([]commands.Answer, error) {
	return db.queryAnswers(ctx, "due answers", `SELECT `+answerColumns+` `+headAnswers+`
		AND (a.next_attempt IS NULL OR a.next_attempt <= ?) ORDER BY a.id LIMIT ?`, now.UnixNano(), limit)
}

// NextRetry implements commands.QuestionStore.
func (db *DB) NextRetry(ctx context.Context) (time.Time, bool, error) {
	var q, a sql.NullInt64
	err := db.SQL().QueryRowContext(ctx, `SELECT
		(SELECT MIN(COALESCE(next_attempt, 0)) FROM questions WHERE forwarded = 0),
		(SELECT MIN(COALESCE(a.next_attempt, 0)) `+headAnswers+`)`).Scan(&q, &a)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next retry: %w", err)
	}
	switch {
	case q.Valid && a.Valid:
		return time.Unix(0, min(q.Int64, a.Int64)).UTC(), true, nil
	case q.Valid:
		return time.Unix(0, q.Int64).UTC(), true, nil
	case a.Valid:
		return time.Unix(0, a.Int64).UTC(), true, nil
	}
	return time.Time{}, false, nil
}

// BlockMember implements commands.QuestionStore.
func (db *DB) BlockMember(ctx context.Context, userID string, until time.Time, by string) error {
	_, err := db.exec(ctx, `INSERT INTO ask_blocks (user_id, until, blocked_by, created_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET until = excluded.until, blocked_by = excluded.blocked_by,
		created_at = excluded.created_at`, userID, until.UnixNano(), by, qNow())
	if err != nil {
		return fmt.Errorf("sqlite: block member: %w", err)
	}
	return nil
}

// UnblockMember implements commands.QuestionStore.
func (db *DB) UnblockMember(ctx context.Context, userID string) error {
	if _, err := db.exec(ctx, `DELETE FROM ask_blocks WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: unblock member: %w", err)
	}
	return nil
}

// BlockedUntil implements commands.QuestionStore.
func (db *DB) BlockedUntil(ctx context.Context, userID string) (time.Time, error) {
	var n int64
	err := db.SQL().QueryRowContext(ctx, `SELECT until FROM ask_blocks WHERE user_id = ?`, userID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: blocked until: %w", err)
	}
	return time.Unix(0, n).UTC(), nil
}
