package commands

import (
	"context"
	"errors"
	"time"
)

// ErrQuestionNotFound is returned by QuestionStore.Question for an unknown id.
var ErrQuestionNotFound = errors.New("question not found")

// Question is one /ask question as stored. ID is the member's reference
// number (#N).
type Question struct {
	ID        int64
	GuildID   string
	ChannelID string // where it was asked
	UserID    string
	UserName  string // display name when asked
	Text      string
	AskedAt   time.Time

	// Forwarding to the team channel.
	Forwarded       bool
	ForwardAttempts int       // sends tried; > 0: an earlier send may have reached Discord
	NextAttempt     time.Time // when the retry loop may try again (queued questions)
	LastError       string
	TeamChannelID   string
	TeamMessageID   string
	TeamThreadID    string // the team's discussion thread ("" when it could not be opened)
	ForwardedAt     time.Time

	// MemberThreadID is the private thread answers go to when the member's
	// DMs are closed (reused by later answers).
	MemberThreadID string

	// TeamStale: the team message misses a change (its edit failed); the
	// retry loop edits it again.
	TeamStale bool

	ClosedAt time.Time // zero while open
	ClosedBy string
}

// Closed reports whether the team closed the question.
func (q *Question) Closed() bool { return !q.ClosedAt.IsZero() }

// Answer states.
const (
	AnswerPending   = "pending"   // stored, not delivered yet (retried)
	AnswerDelivered = "delivered" // delivered the way How says
	AnswerFailed    = "failed"    // permanently undeliverable
)

// Ways an answer reaches the member.
const (
	DeliveredDM      = "dm"      // direct message
	DeliveredThread  = "thread"  // private thread with the member (DMs closed)
	DeliveredChannel = "channel" // message in the question's channel, mentioning only the member
)

// Answer is one team answer to a question.
type Answer struct {
	ID           int64
	QuestionID   int64
	TeamUserID   string
	TeamUserName string // shown to the team only
	Text         string
	CreatedAt    time.Time

	State       string // AnswerPending, AnswerDelivered, AnswerFailed
	How         string // Delivered* once delivered
	TargetID    string // channel id it was delivered to
	Attempts    int    // deliveries tried (counted before each)
	NextAttempt time.Time
	LastError   string
	DeliveredAt time.Time
}

// QuestionStore keeps /ask's state, so that everything (queued forwards,
// pending answers, buttons, the rate limit, blocks) survives a restart.
// *sqlite.DB implements it.
type QuestionStore interface {
	// CreateQuestion stores q (its ID and forwarding fields are ignored,
	// except NextAttempt: when the retry loop may first pick it up) as not
	// yet forwarded and returns its number.
	CreateQuestion(ctx context.Context, q *Question) (int64, error)
	// Question returns the question, or ErrQuestionNotFound.
	Question(ctx context.Context, id int64) (*Question, error)
	// QuestionTimes returns when userID asked questions after since,
	// oldest first (the rate limit).
	QuestionTimes(ctx context.Context, userID string, since time.Time) ([]time.Time, error)

	// MarkForwardAttempt records that a send is about to be tried.
	MarkForwardAttempt(ctx context.Context, id int64, at time.Time) error
	// MarkForwarded records the team message (and clears the queue fields).
	MarkForwarded(ctx context.Context, id int64, teamChannelID, messageID string, at time.Time) error
	// SetTeamThread records the team's discussion thread.
	SetTeamThread(ctx context.Context, id int64, threadID string) error
	// MarkForwardFailed keeps the question queued until next.
	MarkForwardFailed(ctx context.Context, id int64, next time.Time, errText string) error
	// DueForwards lists questions not yet forwarded whose next attempt is at
	// or before now, oldest first, at most limit.
	DueForwards(ctx context.Context, now time.Time, limit int) ([]Question, error)

	// MarkTeamMessage records whether the team message misses a change.
	MarkTeamMessage(ctx context.Context, id int64, stale bool) error
	// StaleTeamMessages lists questions whose team message misses a
	// change, oldest first, at most limit.
	StaleTeamMessages(ctx context.Context, limit int) ([]Question, error)

	// CloseQuestion closes an open question; closed is false when it was
	// already closed (nothing changes then).
	CloseQuestion(ctx context.Context, id int64, by string, at time.Time) (closed bool, err error)
	// SetMemberThread records the private thread used for answers.
	SetMemberThread(ctx context.Context, id int64, threadID string) error

	// AddAnswer stores a pending answer and returns its id.
	AddAnswer(ctx context.Context, a *Answer) (int64, error)
	// Answers lists a question's answers in the order they were given.
	Answers(ctx context.Context, questionID int64) ([]Answer, error)
	// MarkAnswerDelivered records how an answer reached the member.
	MarkAnswerDelivered(ctx context.Context, id int64, how, targetID string, at time.Time) error
	// MarkAnswerAttempt counts a delivery about to be tried (Attempts > 0:
	// an earlier one may have reached the member).
	MarkAnswerAttempt(ctx context.Context, id int64) error
	// MarkAnswerRetry keeps the answer pending until next after a failed attempt.
	MarkAnswerRetry(ctx context.Context, id int64, next time.Time, errText string) error
	// MarkAnswerFailed marks the answer permanently undeliverable.
	MarkAnswerFailed(ctx context.Context, id int64, errText string, at time.Time) error
	// DueAnswers lists, for each question, its oldest pending answer when
	// that one's next attempt is at or before now (answers are delivered in
	// order), oldest first, at most limit.
	DueAnswers(ctx context.Context, now time.Time, limit int) ([]Answer, error)

	// NextRetry returns the earliest next attempt of a queued question or
	// of the oldest pending answer of a question; ok is false when nothing waits.
	NextRetry(ctx context.Context) (next time.Time, ok bool, err error)

	// BlockMember pauses userID's questions until until.
	BlockMember(ctx context.Context, userID string, until time.Time, by string) error
	// UnblockMember lifts a block (no error when there is none).
	UnblockMember(ctx context.Context, userID string) error
	// BlockedUntil returns the end of userID's block, or the zero time.
	BlockedUntil(ctx context.Context, userID string) (time.Time, error)
}
