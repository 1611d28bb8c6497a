package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// The team's side of /ask: the Reply, Close and Block buttons, the answer
// modal, and delivering answers to the member.

// handleComponent answers every "ask:<action>:<id>" button and modal.
func (a *Ask) handleComponent(ctx context.Context, i *discordgo.InteractionCreate) error {
	var customID string
	switch i.Type {
	case discordgo.InteractionMessageComponent:
		customID = i.MessageComponentData().CustomID
	case discordgo.InteractionModalSubmit:
		customID = i.ModalSubmitData().CustomID
	default:
		return a.respond(ctx, i, Ephemeral("This does not work here."))
	}
	parts := strings.Split(customID, ":")
	if len(parts) != 3 || parts[0] != "ask" {
		return a.respond(ctx, i, Ephemeral("This button is not known any more."))
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || id <= 0 {
		return a.respond(ctx, i, Ephemeral("This button is not known any more."))
	}
	if user := interactionUser(i); user == nil || !a.fromTeam(i) {
		return a.respond(ctx, i, Ephemeral("Only the team can use this, in the team channel."))
	}
	switch parts[1] {
	case "reply":
		return a.handleReply(ctx, i, id)
	case "answer":
		return a.handleAnswer(ctx, i, id)
	case "close":
		return a.handleClose(ctx, i, id)
	case "block":
		return a.handleBlock(ctx, i, id, true)
	case "unblock":
		return a.handleBlock(ctx, i, id, false)
	}
	return a.respond(ctx, i, Ephemeral("This button is not known any more."))
}

// fromTeam reports whether the interaction comes from the team channel,
// where the buttons live: only the team can see it.
func (a *Ask) fromTeam(i *discordgo.InteractionCreate) bool {
	return a.o.TeamChannelID != "" && i.ChannelID == a.o.TeamChannelID
}

// question loads question id, answering the interaction itself when it
// does not exist (q == nil then).
func (a *Ask) question(ctx context.Context, i *discordgo.InteractionCreate, id int64) (*Question, error) {
	q, err := a.store.Question(ctx, id)
	if errors.Is(err, ErrQuestionNotFound) {
		return nil, a.respond(ctx, i, Ephemeral(fmt.Sprintf("Question #%d does not exist (any more).", id)))
	}
	if err != nil {
		return nil, fmt.Errorf("ask: %w", err)
	}
	return q, nil
}

func (a *Ask) handleReply(ctx context.Context, i *discordgo.InteractionCreate, id int64) error {
	q, err := a.question(ctx, i, id)
	if q == nil {
		return err
	}
	if q.Closed() {
		return a.respond(ctx, i, Ephemeral(fmt.Sprintf("Question #%d is closed (by %s).", id, EscapeMarkdown(q.ClosedBy))))
	}
	return a.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID: fmt.Sprintf("ask:answer:%d", id),
			Title:    cutRunes(fmt.Sprintf("Answer question #%d", id), 45),
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{
					CustomID:    "answer",
					Label:       "Answer (sent in the team's name)",
					Style:       discordgo.TextInputParagraph,
					Placeholder: cutRunes(strings.Join(strings.Fields(q.Text), " "), 100),
					Required:    true,
					MinLength:   1,
					MaxLength:   AskMaxAnswer,
				},
			}}},
		},
	})
}

// modalValue returns the answer typed into the modal.
func modalValue(i *discordgo.InteractionCreate) string {
	for _, c := range i.ModalSubmitData().Components {
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, cc := range row.Components {
			if ti, ok := cc.(*discordgo.TextInput); ok && ti.CustomID == "answer" {
				return ti.Value
			}
		}
	}
	return ""
}

func (a *Ask) handleAnswer(ctx context.Context, i *discordgo.InteractionCreate, id int64) error {
	if i.Type != discordgo.InteractionModalSubmit {
		return a.respond(ctx, i, Ephemeral("This button is not known any more."))
	}
	// Defer at once: delivering may take several calls.
	if err := a.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: NoMentions()},
	}); err != nil {
		return err
	}
	report := func(msg string) error {
		_, err := a.dc.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{
			Content: &msg, AllowedMentions: NoMentions(),
		}, discordgo.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("ask: edit deferred answer: %w", err)
		}
		return nil
	}
	text := strings.TrimSpace(modalValue(i))
	if IsBlank(text) {
		return report("Your answer was empty, so nothing was sent.")
	}
	text = cutRunes(text, AskMaxAnswer)
	q, err := a.store.Question(ctx, id)
	if errors.Is(err, ErrQuestionNotFound) {
		return report(fmt.Sprintf("Question #%d does not exist (any more); nothing was sent.", id))
	}
	if err != nil {
		a.log.Error("ask: answer: load question", "question_id", id, "error", err)
		return report("Sorry, your answer could not be saved; please try again. Your text:\n" + cutRunes(text, 1800))
	}
	if q.Closed() {
		return report(fmt.Sprintf("Question #%d was closed by %s, so your answer was not sent. Your text:\n%s",
			id, EscapeMarkdown(q.ClosedBy), cutRunes(text, 1800)))
	}
	by := interactionUser(i)
	ansID, err := a.store.AddAnswer(ctx, &Answer{
		QuestionID: id, TeamUserID: by.ID, TeamUserName: displayName(i), Text: text, CreatedAt: a.now(),
	})
	if err != nil {
		a.log.Error("ask: answer: store", "question_id", id, "error", err)
		return report("Sorry, your answer could not be saved; please try again. Your text:\n" + cutRunes(text, 1800))
	}
	a.log.Info("ask: answer stored", "question_id", id, "answer_id", ansID, "user_id", by.ID)
	a.deliverQuestion(ctx, id, true)

	answers, err := a.store.Answers(ctx, id)
	if err != nil {
		return report(fmt.Sprintf("Your answer to #%d is saved; it will be delivered.", id))
	}
	for _, ans := range answers {
		if ans.ID == ansID {
			return report(answerReport(id, ans))
		}
	}
	return report(fmt.Sprintf("Your answer to #%d is saved; it will be delivered.", id))
}

// answerReport tells the team member what became of their answer.
func answerReport(id int64, ans Answer) string {
	switch ans.State {
	case AnswerDelivered:
		switch ans.How {
		case DeliveredDM:
			return fmt.Sprintf("Your answer to #%d was sent to the member by DM, signed as the team.", id)
		case DeliveredThread:
			return fmt.Sprintf("The member's DMs are closed: your answer to #%d was posted in a private thread with them, <#%s>.", id, ans.TargetID)
		case DeliveredChannel:
			return fmt.Sprintf("The member's DMs are closed and no private thread could be opened: your answer to #%d was posted in <#%s>, mentioning only them.", id, ans.TargetID)
		}
	case AnswerFailed:
		return fmt.Sprintf("Your answer to #%d could not be delivered: the member cannot be reached (%s).", id, cutRunes(ans.LastError, 300))
	}
	return fmt.Sprintf("Your answer to #%d is saved but Discord cannot be reached right now; it will be delivered automatically, in order.", id)
}

func (a *Ask) handleClose(ctx context.Context, i *discordgo.InteractionCreate, id int64) error {
	l := a.qlock(id)
	l.Lock()
	defer l.Unlock()
	q, err := a.question(ctx, i, id)
	if q == nil {
		return err
	}
	closed, err := a.store.CloseQuestion(ctx, id, displayName(i), a.now())
	if err != nil {
		return fmt.Errorf("ask: %w", err)
	}
	if !closed {
		return a.respond(ctx, i, Ephemeral(fmt.Sprintf("Question #%d was already closed by %s.", id, EscapeMarkdown(q.ClosedBy))))
	}
	a.log.Info("ask: question closed", "question_id", id, "user_id", interactionUser(i).ID)
	q, err = a.store.Question(ctx, id)
	if err != nil {
		return fmt.Errorf("ask: %w", err)
	}
	answers, err := a.store.Answers(ctx, id)
	if err != nil {
		return fmt.Errorf("ask: %w", err)
	}
	embeds, comps := teamMessage(q, answers)
	if i.Message != nil && i.Message.ID == q.TeamMessageID {
		return a.respond(ctx, i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Embeds: embeds, Components: comps, AllowedMentions: NoMentions()},
		})
	}
	a.editTeamMessage(ctx, q, embeds, comps)
	return a.respond(ctx, i, Ephemeral(fmt.Sprintf("Question #%d is closed.", id)))
}

func (a *Ask) handleBlock(ctx context.Context, i *discordgo.InteractionCreate, id int64, block bool) error {
	q, err := a.question(ctx, i, id)
	if q == nil {
		return err
	}
	who := fmt.Sprintf("<@%s> (%s)", q.UserID, EscapeMarkdown(q.UserName))
	if !block {
		if err := a.store.UnblockMember(ctx, q.UserID); err != nil {
			return fmt.Errorf("ask: %w", err)
		}
		a.log.Info("ask: member unblocked", "question_id", id, "member_id", q.UserID, "user_id", interactionUser(i).ID)
		return a.respond(ctx, i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{
				Content: fmt.Sprintf("%s may ask questions again.", who), Components: []discordgo.MessageComponent{},
				AllowedMentions: NoMentions(),
			},
		})
	}
	until := a.now().Add(a.o.BlockFor)
	if err := a.store.BlockMember(ctx, q.UserID, until, displayName(i)); err != nil {
		return fmt.Errorf("ask: %w", err)
	}
	a.log.Info("ask: member blocked", "question_id", id, "member_id", q.UserID, "user_id", interactionUser(i).ID, "until", until)
	return a.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: fmt.Sprintf("%s cannot use /ask for %s, until <t:%d:f>; they are told politely that their questions are paused. Their questions so far stay here.",
				who, humanDuration(a.o.BlockFor), until.Unix()),
			Flags: discordgo.MessageFlagsEphemeral,
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "Undo", Style: discordgo.SecondaryButton, CustomID: fmt.Sprintf("ask:unblock:%d", id)},
			}}},
			AllowedMentions: NoMentions(),
		},
	})
}

// qlock returns question id's lock: deliveries and team-message edits of
// one question happen one at a time, in order.
func (a *Ask) qlock(id int64) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.qlocks[id]
	if !ok {
		l = &sync.Mutex{}
		a.qlocks[id] = l
	}
	return l
}

// deliverQuestion delivers question id's pending answers in order, then
// shows the result on the team message. force (a new answer) tries every
// pending answer now; otherwise (the retry loop) it stops at the first one
// not yet due, and skips the question when someone else is delivering it.
func (a *Ask) deliverQuestion(ctx context.Context, id int64, force bool) {
	l := a.qlock(id)
	if force {
		l.Lock()
	} else if !l.TryLock() {
		return
	}
	defer l.Unlock()
	q, err := a.store.Question(ctx, id)
	if err != nil {
		a.log.Error("ask: deliver: load question", "question_id", id, "error", err)
		return
	}
	answers, err := a.store.Answers(ctx, id)
	if err != nil {
		a.log.Error("ask: deliver: load answers", "question_id", id, "error", err)
		return
	}
	changed := force
	for k := range answers {
		ans := &answers[k]
		if ans.State != AnswerPending {
			continue
		}
		if !force && ans.NextAttempt.After(a.now()) {
			break
		}
		changed = true
		// Counted before the send: after a crash or a lost answer, the
		// next attempt looks for this one's message before sending again.
		retry := ans.Attempts > 0
		if err := a.store.MarkAnswerAttempt(ctx, ans.ID); err != nil {
			a.log.Error("ask: record delivery attempt", "question_id", id, "answer_id", ans.ID, "error", err)
			break
		}
		ans.Attempts++
		how, target, err := a.deliver(ctx, q, ans, retry)
		if err == nil {
			if err := a.store.MarkAnswerDelivered(ctx, ans.ID, how, target, a.now()); err != nil {
				a.log.Error("ask: record delivery", "question_id", id, "answer_id", ans.ID, "error", err)
			}
			askAnswers.WithLabelValues(how).Inc()
			a.log.Info("ask: answer delivered", "question_id", id, "answer_id", ans.ID, "how", how)
			continue
		}
		class, floor := classify(err)
		if class == errTransient {
			next := a.now().Add(backoff(ans.Attempts, floor))
			askAnswers.WithLabelValues("retry").Inc()
			a.log.Warn("ask: answer not delivered yet", "question_id", id, "answer_id", ans.ID, "error", err, "next_attempt", next)
			if err := a.store.MarkAnswerRetry(ctx, ans.ID, next, errText(err)); err != nil {
				a.log.Error("ask: record delivery retry", "question_id", id, "answer_id", ans.ID, "error", err)
			}
			a.Kick() // Run sleeps until this retry is due
			break    // later answers wait for this one
		}
		askAnswers.WithLabelValues("failed").Inc()
		a.log.Error("ask: answer cannot be delivered", "question_id", id, "answer_id", ans.ID, "error", err)
		if err := a.store.MarkAnswerFailed(ctx, ans.ID, errText(err), a.now()); err != nil {
			a.log.Error("ask: record delivery failure", "question_id", id, "answer_id", ans.ID, "error", err)
		}
	}
	if !changed || q.TeamMessageID == "" {
		return
	}
	if q, err = a.store.Question(ctx, id); err != nil {
		a.log.Error("ask: deliver: reload question", "question_id", id, "error", err)
		return
	}
	if answers, err = a.store.Answers(ctx, id); err != nil {
		a.log.Error("ask: deliver: reload answers", "question_id", id, "error", err)
		return
	}
	embeds, comps := teamMessage(q, answers)
	a.editTeamMessage(ctx, q, embeds, comps)
}

// editTeamMessage replaces the team message's embed and buttons. When the
// edit fails for a transient reason, the question is marked so that the
// retry loop edits it again; q.TeamStale says whether it was marked.
func (a *Ask) editTeamMessage(ctx context.Context, q *Question, embeds []*discordgo.MessageEmbed, comps []discordgo.MessageComponent) {
	if q.TeamMessageID == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, askCallTimeout)
	defer cancel()
	_, err := a.dc.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: q.TeamMessageID, Channel: q.TeamChannelID,
		Embeds: &embeds, Components: &comps, AllowedMentions: NoMentions(),
	}, discordgo.WithContext(cctx), discordgo.WithRetryOnRatelimit(false))
	stale := err != nil && isTransient(err)
	if err != nil {
		a.log.Warn("ask: team message not updated", "question_id", q.ID, "message_id", q.TeamMessageID, "retry", stale, "error", err)
	}
	if stale != q.TeamStale {
		if stale {
			defer a.Kick() // Run redoes the edit
		}
		a.markTeamStale(ctx, q.ID, stale)
	}
}

// refreshTeamMessage edits question id's team message from the store and
// opens its discussion thread if it has none yet (the retry loop, for a
// stale one).
func (a *Ask) refreshTeamMessage(ctx context.Context, id int64) {
	l := a.qlock(id)
	if !l.TryLock() {
		return
	}
	defer l.Unlock()
	q, err := a.store.Question(ctx, id)
	if err != nil {
		a.log.Error("ask: refresh team message", "question_id", id, "error", err)
		return
	}
	answers, err := a.store.Answers(ctx, id)
	if err != nil {
		a.log.Error("ask: refresh team message", "question_id", id, "error", err)
		return
	}
	embeds, comps := teamMessage(q, answers)
	a.editTeamMessage(ctx, q, embeds, comps)
	if q.TeamThreadID == "" && q.TeamMessageID != "" && a.openTeamThread(ctx, q) {
		a.markTeamStale(ctx, id, true)
	}
}

// deliver sends one answer to the member: by DM; when DMs are refused, in a
// private thread with them in the question's channel; failing that, in
// that channel mentioning only them. A transient error stops it (retried
// later, from the DM again). Each send carries a nonce, and on a retry each
// place is first searched for the answer: an earlier attempt may have
// reached it after Discord forgot the nonce.
func (a *Ask) deliver(ctx context.Context, q *Question, ans *Answer, retry bool) (how, target string, err error) {
	msg := answerMessage(q, ans, a.guildName(ctx, q.GuildID))
	opts := func() (context.Context, context.CancelFunc, []discordgo.RequestOption) {
		cctx, cancel := context.WithTimeout(ctx, askCallTimeout)
		return cctx, cancel, []discordgo.RequestOption{discordgo.WithContext(cctx), discordgo.WithRetryOnRatelimit(false)}
	}
	nonce := func(kind string) string {
		return "a" + strconv.FormatInt(ans.ID, 10) + kind + strconv.FormatInt(ans.CreatedAt.UnixMilli(), 36)
	}

	_, cancel, o := opts()
	dm, err := a.dc.UserChannelCreate(q.UserID, o...)
	cancel()
	if err == nil {
		if err = a.sendAnswer(ctx, dm.ID, msg, nonce("d"), ans, retry); err == nil {
			return DeliveredDM, dm.ID, nil
		}
	}
	if c, _ := classify(err); c == errTransient {
		return "", "", err
	}
	a.log.Info("ask: member's DMs are closed", "question_id", q.ID, "member_id", q.UserID, "code", restCode(err))

	mention := *msg
	mention.Content = fmt.Sprintf("<@%s> the team answered your question #%d:", q.UserID, q.ID)
	mention.AllowedMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{q.UserID}}

	thread := q.MemberThreadID
	if thread == "" {
		_, cancel, o := opts()
		th, err := a.dc.ThreadStartComplex(q.ChannelID, &discordgo.ThreadStart{
			Name: fmt.Sprintf("Answer to your question #%d", q.ID), Type: discordgo.ChannelTypeGuildPrivateThread,
			Invitable: false, AutoArchiveDuration: 10080,
		}, o...)
		cancel()
		switch {
		case err == nil:
			thread = th.ID
			if err := a.store.SetMemberThread(ctx, q.ID, thread); err != nil {
				a.log.Error("ask: record member thread", "question_id", q.ID, "error", err)
			}
			q.MemberThreadID = thread
		case isTransient(err):
			return "", "", err
		default:
			a.log.Warn("ask: private thread not opened", "question_id", q.ID, "channel_id", q.ChannelID, "error", err)
		}
	}
	if thread != "" {
		_, cancel, o := opts()
		err := a.dc.ThreadMemberAdd(thread, q.UserID, o...)
		cancel()
		if err == nil {
			if err = a.sendAnswer(ctx, thread, &mention, nonce("t"), ans, retry); err == nil {
				return DeliveredThread, thread, nil
			}
		}
		if isTransient(err) {
			return "", "", err
		}
		a.log.Warn("ask: private thread unusable", "question_id", q.ID, "thread_id", thread, "error", err)
	}
	if err := a.sendAnswer(ctx, q.ChannelID, &mention, nonce("c"), ans, retry); err != nil {
		return "", "", err
	}
	return DeliveredChannel, q.ChannelID, nil
}

// sendAnswer sends the answer message m to channelID unless retry finds it
// there already.
func (a *Ask) sendAnswer(ctx context.Context, channelID string, m *discordgo.MessageSend, nonce string, ans *Answer, retry bool) error {
	if retry {
		found, err := a.findAnswer(ctx, channelID, ans)
		switch {
		case found:
			a.log.Info("ask: earlier delivery found", "answer_id", ans.ID, "channel_id", channelID)
			return nil
		case err != nil && isTransient(err):
			return err
		case err != nil:
			// Not readable here (no history permission): the nonce is
			// what is left to prevent a second copy.
			a.log.Warn("ask: cannot look for an earlier delivery", "answer_id", ans.ID, "channel_id", channelID, "error", err)
		}
	}
	_, err := a.sendNonce(ctx, channelID, m, nonce)
	return err
}

// findAnswer reports whether one of channelID's 50 most recent messages is
// answer ans (its embed's title and timestamp, see answerMessage).
func (a *Ask) findAnswer(ctx context.Context, channelID string, ans *Answer) (bool, error) {
	title := answerTitle(ans.QuestionID)
	// To the second: Discord may keep less than the milliseconds sent.
	at := answerTime(ans).Truncate(time.Second)
	id, err := a.findMessage(ctx, channelID, 50, func(e *discordgo.MessageEmbed) bool {
		t, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		return e.Title == title && err == nil && t.Truncate(time.Second).Equal(at)
	})
	return id != "", err
}

func isTransient(err error) bool {
	c, _ := classify(err)
	return c == errTransient
}

// guildName returns the guild's name (cached once known; "" when it
// cannot be had, then the answer is signed "The team").
func (a *Ask) guildName(ctx context.Context, guildID string) string {
	a.mu.Lock()
	name := a.guild
	a.mu.Unlock()
	if name != "" || guildID == "" {
		return name
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	g, err := a.dc.Guild(guildID, discordgo.WithContext(cctx), discordgo.WithRetryOnRatelimit(false))
	if err != nil || g == nil {
		a.log.Warn("ask: guild name unknown", "guild_id", guildID, "error", err)
		return ""
	}
	a.mu.Lock()
	a.guild = g.Name
	a.mu.Unlock()
	return g.Name
}
