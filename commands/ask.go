package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// /ask: a member's question is stored, then forwarded to the team channel
// with Reply / Close / Block buttons; a team member's answer (a modal) is
// stored, then delivered to the member by DM, else in a private thread, else
// in the channel the question came from. Everything lives in the
// QuestionStore, so that buttons and retries survive a restart; the only
// state in memory is who is working on which question right now.

// Limits of /ask.
const (
	AskMaxQuestion = 1500 // runes in a question (the option's max_length)
	AskMaxAnswer   = 3000 // runes in an answer (the modal input's max_length)

	askDefaultLimit  = 3
	askDefaultPeriod = 10 * time.Minute
	askDefaultBudget = 2 * time.Second // from the interaction's creation to our answer
	askDefaultBlock  = 7 * 24 * time.Hour
	askRetryMin      = 5 * time.Second
	askRetryMax      = 5 * time.Minute
	askCallTimeout   = 5 * time.Second // one REST call of a forward or delivery
	askBatch         = 50              // items per retry pass
	askDrain         = 3 * time.Second // Run's end waits this long for forwards in progress
)

// AskDiscord is what /ask needs of Discord; *discordgo.Session satisfies it.
type AskDiscord interface {
	Responder
	// RequestWithBucketID sends messages with nonce + enforce_nonce, which
	// discordgo's MessageSend cannot carry.
	RequestWithBucketID(method, urlStr string, data interface{}, bucketID string, options ...discordgo.RequestOption) ([]byte, error)
	ChannelMessages(channelID string, limit int, beforeID, afterID, aroundID string, options ...discordgo.RequestOption) ([]*discordgo.Message, error)
	ChannelMessageEditComplex(m *discordgo.MessageEdit, options ...discordgo.RequestOption) (*discordgo.Message, error)
	MessageThreadStartComplex(channelID, messageID string, data *discordgo.ThreadStart, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	ThreadStartComplex(channelID string, data *discordgo.ThreadStart, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	ThreadMemberAdd(threadID, memberID string, options ...discordgo.RequestOption) error
	UserChannelCreate(recipientID string, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	Guild(guildID string, options ...discordgo.RequestOption) (*discordgo.Guild, error)
}

var _ AskDiscord = (*discordgo.Session)(nil)

// AskOptions configures /ask.
type AskOptions struct {
	Store         QuestionStore
	Discord       AskDiscord
	TeamChannelID string
	GuildID       string        // the one guild newsbot serves ("" accepts any guild)
	Limit         int           // questions per Period per member (default 3)
	Period        time.Duration // default 10 minutes
	Log           *slog.Logger
	Now           func() time.Time // default time.Now; stored times and back-off use it

	// ResponseBudget is how long after the interaction was created /ask
	// waits for the forward before answering "queued" (default 2 s, which
	// keeps Discord's 3 s deadline).
	ResponseBudget time.Duration
	// BlockFor is how long the Block button pauses a member (default 7 days).
	BlockFor time.Duration
	// Problems shows on /healthz that questions cannot reach the team
	// channel (may be nil).
	Problems Problems
}

// Problems is where a command reports a lasting problem for the admin
// (the bot's /healthz); *bot.Health satisfies it.
type Problems interface {
	SetProblem(key, msg string)
	ClearProblem(key string)
}

// forwardProblem is the /healthz key of a team channel that refuses questions.
const forwardProblem = "ask_forward"

// Ask is the /ask command and its retry loop.
type Ask struct {
	o     AskOptions
	store QuestionStore
	dc    AskDiscord
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	flights map[int64]*flight     // forwards in progress, by question
	qlocks  map[int64]*sync.Mutex // serialises deliveries and team-message edits per question
	askers  map[string]*askerLock // members whose /ask is between the limit check and the insert
	guild   string                // cached guild name

	kick     chan struct{}
	wg       sync.WaitGroup     // background forwards
	bg       context.Context    // context of forwards started by /ask
	bgCancel context.CancelFunc // cancels them when Run ends (after askDrain)
}

// NewAsk returns the /ask command.
func NewAsk(o AskOptions) *Ask {
	if o.Limit <= 0 {
		o.Limit = askDefaultLimit
	}
	if o.Period <= 0 {
		o.Period = askDefaultPeriod
	}
	if o.ResponseBudget <= 0 {
		o.ResponseBudget = askDefaultBudget
	}
	if o.BlockFor <= 0 {
		o.BlockFor = askDefaultBlock
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Ask{
		bg: bg, bgCancel: cancel,
		o: o, store: o.Store, dc: o.Discord, log: o.Log, now: o.Now,
		flights: map[int64]*flight{},
		qlocks:  map[int64]*sync.Mutex{},
		askers:  map[string]*askerLock{},
		kick:    make(chan struct{}, 1),
	}
}

// Command returns the definition and handlers of /ask.
func (a *Ask) Command() Command {
	minLen, dmAllowed := 1, false
	return Command{
		Definition: &discordgo.ApplicationCommand{
			Name:         "ask",
			Description:  "Ask the team a question; they answer you by DM",
			Contexts:     &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
			DMPermission: &dmAllowed,
			Options: []*discordgo.ApplicationCommandOption{{
				Type:        discordgo.ApplicationCommandOptionString,
				Name:        "question",
				Description: "Your question for the team (up to 1500 characters)",
				Required:    true,
				MinLength:   &minLen,
				MaxLength:   AskMaxQuestion,
			}},
		},
		Handle:     a.handleAsk,
		Components: map[string]HandlerFunc{"ask": a.handleComponent},
	}
}

// respond answers an interaction (callbacks are not rate limited like sends).
func (a *Ask) respond(ctx context.Context, i *discordgo.InteractionCreate, r *discordgo.InteractionResponse) error {
	if err := a.dc.InteractionRespond(i.Interaction, r, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("ask: respond: %w", err)
	}
	return nil
}

func (a *Ask) handleAsk(ctx context.Context, i *discordgo.InteractionCreate) error {
	received := time.Now()
	deadline := responseDeadline(i.ID, received, a.o.ResponseBudget)
	user := interactionUser(i)
	if user == nil || i.GuildID == "" || (a.o.GuildID != "" && i.GuildID != a.o.GuildID) {
		return a.respond(ctx, i, Ephemeral("/ask is not available here."))
	}
	text := strings.TrimSpace(optionString(i, "question"))
	if IsBlank(text) {
		askQuestions.WithLabelValues("refused").Inc()
		return a.respond(ctx, i, Ephemeral("Your question is empty. Please type a question after /ask, for example: /ask question: How do I reset my password?"))
	}
	if utf8.RuneCountInString(text) > AskMaxQuestion {
		askQuestions.WithLabelValues("refused").Inc()
		return a.respond(ctx, i, Ephemeral(fmt.Sprintf("Your question is too long (%d characters); please keep it under %d.", utf8.RuneCountInString(text), AskMaxQuestion)))
	}
	now := a.now()
	until, err := a.store.BlockedUntil(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("ask: %w", err)
	}
	if until.After(now) {
		askQuestions.WithLabelValues("blocked").Inc()
		return a.respond(ctx, i, Ephemeral(fmt.Sprintf(
			"Questions from you are paused until <t:%d:f> (<t:%d:R>). Thank you for your patience.", until.Unix(), until.Unix())))
	}

	// The limit check and the insert are one step per member, so that two
	// quick /ask cannot both pass it.
	a.lockAsker(user.ID)
	id, wait, err := a.create(ctx, i, user, text, now)
	a.unlockAsker(user.ID)
	if err != nil {
		return err
	}
	if wait > 0 {
		askQuestions.WithLabelValues("limited").Inc()
		at := now.Add(wait)
		return a.respond(ctx, i, Ephemeral(fmt.Sprintf(
			"You have asked %d questions in the last %s, the most for now. Please wait %s (until <t:%d:T>) before asking another.",
			a.o.Limit, humanDuration(a.o.Period), humanDuration(wait), at.Unix())))
	}
	a.log.Info("ask: question stored", "question_id", id, "user_id", user.ID, "channel_id", i.ChannelID)

	f := a.startForward(id)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	sent := false
	select {
	case <-f.done:
		sent = f.sent
	case <-timer.C:
	}
	askQuestions.WithLabelValues(map[bool]string{true: "sent", false: "queued"}[sent]).Inc()
	msg := fmt.Sprintf("Thanks! Your question was sent to the team as #%d. They will answer you by DM (or here, if your DMs are closed).", id)
	if !sent {
		msg = fmt.Sprintf("Thanks! Your question is saved and queued as #%d: the team channel cannot be reached right now, so it will be sent automatically as soon as possible. They will answer you by DM (or here, if your DMs are closed).", id)
	}
	return a.respond(ctx, i, Ephemeral(msg))
}

// create applies the rate limit and stores the question: wait > 0 means
// the member must wait that long (nothing stored).
func (a *Ask) create(ctx context.Context, i *discordgo.InteractionCreate, user *discordgo.User, text string, now time.Time) (id int64, wait time.Duration, err error) {
	times, err := a.store.QuestionTimes(ctx, user.ID, now.Add(-a.o.Period))
	if err != nil {
		return 0, 0, fmt.Errorf("ask: %w", err)
	}
	if n := len(times); n >= a.o.Limit {
		wait = times[n-a.o.Limit].Add(a.o.Period).Sub(now)
		return 0, max(wait, time.Second), nil
	}
	q := &Question{
		GuildID: i.GuildID, ChannelID: i.ChannelID, UserID: user.ID, UserName: displayName(i),
		Text: text, AskedAt: now, TeamChannelID: a.o.TeamChannelID,
		// The handler forwards at once; the retry loop takes over only
		// after the first back-off.
		NextAttempt: now.Add(askRetryMin),
	}
	id, err = a.store.CreateQuestion(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("ask: %w", err)
	}
	return id, 0, nil
}

// lockAsker serialises one member's /ask between the limit check and the
// insert (other members are not held up).
func (a *Ask) lockAsker(userID string) {
	a.mu.Lock()
	l, ok := a.askers[userID]
	if !ok {
		l = &askerLock{}
		a.askers[userID] = l
	}
	l.users++
	a.mu.Unlock()
	l.mu.Lock()
}

func (a *Ask) unlockAsker(userID string) {
	a.mu.Lock()
	l := a.askers[userID]
	l.users--
	if l.users == 0 {
		delete(a.askers, userID)
	}
	a.mu.Unlock()
	l.mu.Unlock()
}

type askerLock struct {
	mu    sync.Mutex
	users int // holders and waiters
}

// responseDeadline is when /ask must answer: budget after the interaction
// was created (its snowflake's time), but never sooner than a fraction of
// the budget after receipt, so that a skewed clock cannot make every
// question "queued".
func responseDeadline(interactionID string, received time.Time, budget time.Duration) time.Time {
	d := received.Add(budget)
	// An id whose time is far from now is not a real snowflake (a proxy, a
	// test double): only the receipt time counts then.
	if created, err := discordgo.SnowflakeTimestamp(interactionID); err == nil && created.Before(received) && received.Sub(created) < time.Minute {
		if c := created.Add(budget); c.Before(d) {
			d = c
		}
	}
	if floor := received.Add(budget / 4); d.Before(floor) {
		d = floor
	}
	return d
}

// IsBlank reports whether s has nothing visible: only white space,
// zero-width and other format characters, blank "filler" letters or lone
// combining marks.
func IsBlank(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Cc, r),
			unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r):
		case r == '\u2800', r == '\u3164', r == '\u115F', r == '\u1160', r == '\uFFA0', r == '\u180E':
		default:
			return false
		}
	}
	return true
}

func interactionUser(i *discordgo.InteractionCreate) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// displayName is the member's name as the guild shows it.
func displayName(i *discordgo.InteractionCreate) string {
	if i.Member != nil && i.Member.Nick != "" {
		return i.Member.Nick
	}
	u := interactionUser(i)
	if u == nil {
		return ""
	}
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

func optionString(i *discordgo.InteractionCreate, name string) string {
	if i.Type != discordgo.InteractionApplicationCommand {
		return ""
	}
	for _, o := range i.ApplicationCommandData().Options {
		if o.Name == name && o.Type == discordgo.ApplicationCommandOptionString {
			if s, ok := o.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// humanDuration says d in words, rounded up ("4 minutes", "45 seconds").
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= time.Minute:
		return plural(int64((d+time.Second-1)/time.Second), "second")
	case d <= time.Hour:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	case d <= 48*time.Hour:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
	return plural(int64((d+24*time.Hour-1)/(24*time.Hour)), "day")
}

// errorClass sorts a Discord error: transient ones (5xx, 429, timeouts,
// network) are retried later; refused ones (401/403/404) mean "not there or
// not allowed"; anything else is a bad request.
type errorClass int

const (
	errTransient errorClass = iota
	errRefused
	errBad
)

func classify(err error) (errorClass, time.Duration) {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return errTransient, rl.RetryAfter
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		switch s := re.Response.StatusCode; {
		case s >= 500, s == 429, s == 408:
			return errTransient, 0
		case s == 401, s == 403, s == 404:
			return errRefused, 0
		default:
			return errBad, 0
		}
	}
	return errTransient, 0
}

// restCode returns Discord's JSON error code of err, or 0.
func restCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// backoff is the wait after the attempts-th failed attempt: 5 s doubling up
// to 5 minutes, at least what a rate limit asks for.
func backoff(attempts int, floor time.Duration) time.Duration {
	d := askRetryMin
	for n := 1; n < attempts && d < askRetryMax; n++ {
		d *= 2
	}
	return min(max(d, floor), askRetryMax)
}

// errText keeps an error short for the database.
func errText(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
