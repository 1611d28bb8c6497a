package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/commands"
)

// The /ask store (migration 0002): questions, answers, blocks.
//
// A question may be stored by any instance (a standby answering
// interactions over HTTP too) and is forwarded by whichever claims it
// first: MarkForwardAttempt is a conditional update that takes a lease
// (claimed_until) on a question nobody holds, so that two instances never
// send one question at once; MarkForwarded ends it, MarkForwardFailed
// gives it back, and a claimer that died loses it when the lease ends (the
// next one looks for its message before sending again).

// forwardLease is how long a forward claim holds a question: longer than
// one send with its timeouts.
const forwardLease = 2 * time.Minute

// ErrClaimed is returned by MarkForwardAttempt (MarkAnswerAttempt) when
// another forward of the question (delivery of the answer), another
// instance's, holds it.
var ErrClaimed = errors.New("another instance is forwarding the question")

var _ commands.QuestionStore = (*DB)(nil)

// qNanos stores t as unix nanoseconds, NULL for the zero time.
func qNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func qTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

func qNow() int64 { return time.Now().UnixNano() }

// CreateQuestion implements commands.QuestionStore.
func (db *DB) CreateQuestion(ctx context.Context, q *commands.Question) (int64, error) {
	if q.UserID == "" {
		return 0, errors.New("postgres: create question: no user id")
	}
	next := q.NextAttempt
	if next.IsZero() {
		next = q.AskedAt
	}
	var id int64
	err := db.pool.QueryRow(ctx, `INSERT INTO questions
		(guild_id, channel_id, user_id, user_name, text, asked_at, next_attempt, team_channel_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		q.GuildID, q.ChannelID, q.UserID, q.UserName, q.Text, q.AskedAt.UnixNano(), qNanos(next), q.TeamChannelID, qNow()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: create question: %w", err)
	}
	return id, nil
}

const questionColumns = `id, guild_id, channel_id, user_id, user_name, text, asked_at,
	forwarded, forward_attempts, next_attempt, last_error, team_channel_id, team_message_id,
	team_thread_id, member_thread_id, forwarded_at, closed_at, closed_by, team_stale`

func scanQuestion(r pgx.Row) (*commands.Question, error) {
	var q commands.Question
	var asked int64
	var next, fwdAt, closedAt *int64
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
	q, err := scanQuestion(db.pool.QueryRow(ctx, `SELECT `+questionColumns+` FROM questions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: question %d: %w", id, commands.ErrQuestionNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: question %d: %w", id, err)
	}
	return q, nil
}

// QuestionTimes implements commands.QuestionStore.
func (db *DB) QuestionTimes(ctx context.Context, userID string, since time.Time) ([]time.Time, error) {
	rows, err := db.pool.Query(ctx,
		`SELECT asked_at FROM questions WHERE user_id = $1 AND asked_at > $2 ORDER BY asked_at`,
		userID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("postgres: question times: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("postgres: question times: %w", err)
		}
		out = append(out, time.Unix(0, n).UTC())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: question times: %w", err)
	}
	return out, nil
}

// execOne runs an UPDATE that must touch one question or answer row.
func (db *DB) execOne(ctx context.Context, what string, id int64, query string, args ...any) error {
	tag, err := db.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s %d: %w", what, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s %d: %w", what, id, commands.ErrQuestionNotFound)
	}
	return nil
}

// MarkForwardAttempt implements commands.QuestionStore: it claims the
// question (see forwardLease) or fails with ErrClaimed while another
// forward holds it.
func (db *DB) MarkForwardAttempt(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	tag, err := db.pool.Exec(ctx, `UPDATE questions SET forward_attempts = forward_attempts + 1,
		claimed_until = $1, updated_at = $2
		WHERE id = $3 AND NOT forwarded AND (claimed_until IS NULL OR claimed_until <= $4)`,
		at.Add(forwardLease).UnixNano(), qNow(), id, at.UnixNano())
	if err != nil {
		return fmt.Errorf("postgres: mark forward attempt %d: %w", id, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	q, err := db.Question(ctx, id)
	if err != nil {
		return err
	}
	if q.Forwarded {
		return fmt.Errorf("postgres: mark forward attempt %d: already forwarded", id)
	}
	return fmt.Errorf("postgres: mark forward attempt %d: %w", id, ErrClaimed)
}

// MarkForwarded implements commands.QuestionStore.
func (db *DB) MarkForwarded(ctx context.Context, id int64, teamChannelID, messageID string, at time.Time) error {
	return db.execOne(ctx, "mark forwarded", id,
		`UPDATE questions SET forwarded = true, team_channel_id = $1, team_message_id = $2, forwarded_at = $3,
		 next_attempt = NULL, claimed_until = NULL, last_error = '', updated_at = $4 WHERE id = $5`,
		teamChannelID, messageID, qNanos(at), qNow(), id)
}

// SetTeamThread implements commands.QuestionStore.
func (db *DB) SetTeamThread(ctx context.Context, id int64, threadID string) error {
	return db.execOne(ctx, "set team thread", id,
		`UPDATE questions SET team_thread_id = $1, updated_at = $2 WHERE id = $3`, threadID, qNow(), id)
}

// MarkForwardFailed implements commands.QuestionStore.
func (db *DB) MarkForwardFailed(ctx context.Context, id int64, next time.Time, errText string) error {
	return db.execOne(ctx, "mark forward failed", id,
		`UPDATE questions SET next_attempt = $1, last_error = $2, claimed_until = NULL, updated_at = $3
		 WHERE id = $4 AND NOT forwarded`,
		qNanos(next), errText, qNow(), id)
}

// DueForwards implements commands.QuestionStore.
func (db *DB) DueForwards(ctx context.Context, now time.Time, limit int) ([]commands.Question, error) {
	return db.queryQuestions(ctx, "due forwards", `SELECT `+questionColumns+` FROM questions
		WHERE NOT forwarded AND (next_attempt IS NULL OR next_attempt <= $1)
		AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY id LIMIT $2`,
		now.UnixNano(), limit)
}

// MarkTeamMessage implements commands.QuestionStore.
func (db *DB) MarkTeamMessage(ctx context.Context, id int64, stale bool) error {
	return db.execOne(ctx, "mark team message", id,
		`UPDATE questions SET team_stale = $1, updated_at = $2 WHERE id = $3`, stale, qNow(), id)
}

// StaleTeamMessages implements commands.QuestionStore.
func (db *DB) StaleTeamMessages(ctx context.Context, limit int) ([]commands.Question, error) {
	return db.queryQuestions(ctx, "stale team messages", `SELECT `+questionColumns+` FROM questions
		WHERE team_stale ORDER BY id LIMIT $1`, limit)
}

func (db *DB) queryQuestions(ctx context.Context, what, query string, args ...any) ([]commands.Question, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	defer rows.Close()
	var out []commands.Question
	for rows.Next() {
		q, err := scanQuestion(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", what, err)
		}
		out = append(out, *q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// CloseQuestion implements commands.QuestionStore.
func (db *DB) CloseQuestion(ctx context.Context, id int64, by string, at time.Time) (bool, error) {
	res, err := db.pool.Exec(ctx,
		`UPDATE questions SET closed_at = $1, closed_by = $2, updated_at = $3 WHERE id = $4 AND closed_at IS NULL`,
		at.UnixNano(), by, qNow(), id)
	if err != nil {
		return false, fmt.Errorf("postgres: close question %d: %w", id, err)
	}
	if res.RowsAffected() == 1 {
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
		`UPDATE questions SET member_thread_id = $1, updated_at = $2 WHERE id = $3`, threadID, qNow(), id)
}

// AddAnswer implements commands.QuestionStore.
func (db *DB) AddAnswer(ctx context.Context, a *commands.Answer) (int64, error) {
	var id int64
	err := db.pool.QueryRow(ctx, `INSERT INTO answers
		(question_id, team_user_id, team_user_name, text, created_at, next_attempt, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		a.QuestionID, a.TeamUserID, a.TeamUserName, a.Text, a.CreatedAt.UnixNano(), a.CreatedAt.UnixNano(), qNow()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: add answer to question %d: %w", a.QuestionID, err)
	}
	return id, nil
}

const answerColumns = `id, question_id, team_user_id, team_user_name, text, created_at, state, how,
	target_id, attempts, next_attempt, last_error, delivered_at`

func scanAnswer(r pgx.Row) (commands.Answer, error) {
	var a commands.Answer
	var created int64
	var next, delivered *int64
	err := r.Scan(&a.ID, &a.QuestionID, &a.TeamUserID, &a.TeamUserName, &a.Text, &created, &a.State, &a.How,
		&a.TargetID, &a.Attempts, &next, &a.LastError, &delivered)
	a.CreatedAt = time.Unix(0, created).UTC()
	a.NextAttempt = qTime(next)
	a.DeliveredAt = qTime(delivered)
	return a, err
}

func (db *DB) queryAnswers(ctx context.Context, what, query string, args ...any) ([]commands.Answer, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	defer rows.Close()
	var out []commands.Answer
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// Answers implements commands.QuestionStore.
func (db *DB) Answers(ctx context.Context, questionID int64) ([]commands.Answer, error) {
	return db.queryAnswers(ctx, "answers", `SELECT `+answerColumns+` FROM answers
		WHERE question_id = $1 ORDER BY id`, questionID)
}

// MarkAnswerDelivered implements commands.QuestionStore.
func (db *DB) MarkAnswerDelivered(ctx context.Context, id int64, how, targetID string, at time.Time) error {
	return db.execOne(ctx, "mark answer delivered", id,
		`UPDATE answers SET state = 'delivered', how = $1, target_id = $2, delivered_at = $3,
		 next_attempt = NULL, claimed_until = NULL, last_error = '', updated_at = $4 WHERE id = $5`,
		how, targetID, at.UnixNano(), qNow(), id)
}

// MarkAnswerAttempt implements commands.QuestionStore: like a forward, a
// delivery is claimed (see forwardLease), so that an answer given on one
// instance is not delivered by another's retry loop at the same time; it
// fails with ErrClaimed while another delivery holds it.
func (db *DB) MarkAnswerAttempt(ctx context.Context, id int64) error {
	now := db.now()
	tag, err := db.pool.Exec(ctx, `UPDATE answers SET attempts = attempts + 1, claimed_until = $1, updated_at = $2
		WHERE id = $3 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= $2)`,
		now.Add(forwardLease).UnixNano(), now.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("postgres: mark answer attempt %d: %w", id, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var state string
	var claimed *int64
	err = db.pool.QueryRow(ctx, "SELECT state, claimed_until FROM answers WHERE id = $1", id).Scan(&state, &claimed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: mark answer attempt %d: %w", id, commands.ErrQuestionNotFound)
	case err != nil:
		return fmt.Errorf("postgres: mark answer attempt %d: %w", id, err)
	case state == commands.AnswerPending:
		return fmt.Errorf("postgres: mark answer attempt %d: %w", id, ErrClaimed)
	}
	return fmt.Errorf("postgres: mark answer attempt %d: the answer is %s", id, state)
}

// MarkAnswerRetry implements commands.QuestionStore.
func (db *DB) MarkAnswerRetry(ctx context.Context, id int64, next time.Time, errText string) error {
	return db.execOne(ctx, "mark answer retry", id,
		`UPDATE answers SET next_attempt = $1, last_error = $2, claimed_until = NULL, updated_at = $3
		 WHERE id = $4 AND state = 'pending'`,
		qNanos(next), errText, qNow(), id)
}

// MarkAnswerFailed implements commands.QuestionStore.
func (db *DB) MarkAnswerFailed(ctx context.Context, id int64, errText string, at time.Time) error {
	return db.execOne(ctx, "mark answer failed", id,
		`UPDATE answers SET state = 'failed', next_attempt = NULL, claimed_until = NULL, last_error = $1,
		 updated_at = $2 WHERE id = $3`, errText, qNow(), id)
}

// headAnswers selects the oldest pending answer of each question.
const headAnswers = `FROM answers a WHERE a.state = 'pending'
	AND a.id = (SELECT MIN(b.id) FROM answers b WHERE b.question_id = a.question_id AND b.state = 'pending')`

// DueAnswers implements commands.QuestionStore.
func (db *DB) DueAnswers(ctx context.Context, now time.Time, limit int) ([]commands.Answer, error) {
	return db.queryAnswers(ctx, "due answers", `SELECT `+answerColumns+` `+headAnswers+`
		AND (a.next_attempt IS NULL OR a.next_attempt <= $1)
		AND (a.claimed_until IS NULL OR a.claimed_until <= $1) ORDER BY a.id LIMIT $2`, now.UnixNano(), limit)
}

// NextRetry implements commands.QuestionStore.
func (db *DB) NextRetry(ctx context.Context) (time.Time, bool, error) {
	var q, a *int64
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT MIN(GREATEST(COALESCE(next_attempt, 0), COALESCE(claimed_until, 0))) FROM questions WHERE NOT forwarded),
		(SELECT MIN(GREATEST(COALESCE(a.next_attempt, 0), COALESCE(a.claimed_until, 0))) `+headAnswers+`)`).Scan(&q, &a)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next retry: %w", err)
	}
	switch {
	case q != nil && a != nil:
		return time.Unix(0, min(*q, *a)).UTC(), true, nil
	case q != nil:
		return time.Unix(0, *q).UTC(), true, nil
	case a != nil:
		return time.Unix(0, *a).UTC(), true, nil
	}
	return time.Time{}, false, nil
}

// BlockMember implements commands.QuestionStore.
func (db *DB) BlockMember(ctx context.Context, userID string, until time.Time, by string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO ask_blocks (user_id, until, blocked_by, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET until = excluded.until, blocked_by = excluded.blocked_by,
		created_at = excluded.created_at`, userID, until.UnixNano(), by, qNow())
	if err != nil {
		return fmt.Errorf("postgres: block member: %w", err)
	}
	return nil
}

// UnblockMember implements commands.QuestionStore.
func (db *DB) UnblockMember(ctx context.Context, userID string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM ask_blocks WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("postgres: unblock member: %w", err)
	}
	return nil
}

// BlockedUntil implements commands.QuestionStore.
func (db *DB) BlockedUntil(ctx context.Context, userID string) (time.Time, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT until FROM ask_blocks WHERE user_id = $1`, userID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: blocked until: %w", err)
	}
	return time.Unix(0, n).UTC(), nil
}
