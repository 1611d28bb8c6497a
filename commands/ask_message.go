package commands

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
)

// The messages /ask writes: the team message and the answer to the member.

const (
	colorOpen     = 0x5865F2
	colorAnswered = 0x57F287
	colorClosed   = 0x99AAB5

	embedBudget      = 5800 // of Discord's 6000 characters per message's embeds, with a margin
	maxAnswerFields  = 20   // with the 3 (or 4) fixed fields and a note: <= 25
	answerFieldLimit = 1024
)

// teamMessage builds the team channel's message for q: the full question,
// who asked, where and when, one field per answer, and the buttons.
func teamMessage(q *Question, answers []Answer) ([]*discordgo.MessageEmbed, []discordgo.MessageComponent) {
	e := &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       fmt.Sprintf("Question #%d", q.ID),
		Description: q.Text,
		Color:       colorOpen,
		Timestamp:   q.AskedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		Footer:      &discordgo.MessageEmbedFooter{Text: footerMarker(q.ID)},
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Asked by", Value: fmt.Sprintf("<@%s> (%s)", q.UserID, cutRunes(EscapeMarkdown(q.UserName), 200)), Inline: true},
			{Name: "Where", Value: fmt.Sprintf("<#%s> · [open](https://discord.com/channels/%s/%s)", q.ChannelID, q.GuildID, q.ChannelID), Inline: true},
			{Name: "When", Value: fmt.Sprintf("<t:%d:F>", q.AskedAt.Unix()), Inline: true},
		},
	}
	if len(answers) > 0 {
		e.Color = colorAnswered
	}
	if q.Closed() {
		e.Color = colorClosed
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name:  "Closed",
			Value: fmt.Sprintf("by %s, <t:%d:f>", cutRunes(EscapeMarkdown(q.ClosedBy), 200), q.ClosedAt.Unix()),
		})
	}

	base := e.Fields
	for shown := min(len(answers), maxAnswerFields); ; shown-- {
		e.Fields = append(base[:len(base):len(base)], answerFields(base, e, answers, shown)...)
		if embedSize(e) <= embedBudget || shown == 0 {
			break
		}
	}
	closed := q.Closed()
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Reply", Style: discordgo.PrimaryButton, CustomID: fmt.Sprintf("ask:reply:%d", q.ID), Disabled: closed},
		discordgo.Button{Label: "Close", Style: discordgo.SecondaryButton, CustomID: fmt.Sprintf("ask:close:%d", q.ID), Disabled: closed},
		discordgo.Button{Label: "Block", Style: discordgo.DangerButton, CustomID: fmt.Sprintf("ask:block:%d", q.ID)},
	}}
	return []*discordgo.MessageEmbed{e}, []discordgo.MessageComponent{row}
}

// answerFields renders the newest shown answers (and a note for the
// others) within what is left of the embed budget.
func answerFields(base []*discordgo.MessageEmbedField, e *discordgo.MessageEmbed, answers []Answer, shown int) []*discordgo.MessageEmbedField {
	used := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description) + utf8.RuneCountInString(e.Footer.Text)
	for _, f := range base {
		used += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	var out []*discordgo.MessageEmbedField
	hidden := len(answers) - shown
	if hidden > 0 {
		f := &discordgo.MessageEmbedField{
			Name:  "Earlier answers",
			Value: fmt.Sprintf("%d earlier answers (1 to %d) are not shown here.", hidden, hidden),
		}
		used += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
		out = append(out, f)
	}
	for k, ans := range answers[hidden:] {
		name := fmt.Sprintf("Answer %d by %s", hidden+k+1, cutRunes(ans.TeamUserName, 80))
		how := "*" + deliveryText(ans) + "*"
		budget := (embedBudget - used - utf8.RuneCountInString(name)) / (shown - k)
		budget = min(budget, answerFieldLimit) - utf8.RuneCountInString(how) - 1
		value := how
		if budget > 1 {
			value = articles.Excerpt(ans.Text, budget) + "\n" + how
		}
		used += utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
		out = append(out, &discordgo.MessageEmbedField{Name: name, Value: value})
	}
	return out
}

// embedSize counts what Discord counts against 6000 characters.
func embedSize(e *discordgo.MessageEmbed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	return n
}

// deliveryText says how an answer reached the member, for the team.
func deliveryText(ans Answer) string {
	switch ans.State {
	case AnswerDelivered:
		switch ans.How {
		case DeliveredDM:
			return "Delivered by DM"
		case DeliveredThread:
			return fmt.Sprintf("Delivered in a private thread <#%s> (DMs closed)", ans.TargetID)
		case DeliveredChannel:
			return fmt.Sprintf("Delivered in <#%s> (DMs closed)", ans.TargetID)
		}
		return "Delivered"
	case AnswerFailed:
		return "Not delivered: the member cannot be reached"
	}
	return "Not delivered yet: retrying"
}

// answerMessage is what the member receives: the team's answer, signed as
// the team, with the question quoted; never the team member's name.
func answerMessage(q *Question, ans *Answer, guildName string) *discordgo.MessageSend {
	team := "The team"
	if guildName != "" {
		team = "The " + cutRunes(EscapeMarkdown(guildName), 100) + " team"
	}
	answer := cutRunes(ans.Text, AskMaxAnswer)
	head := fmt.Sprintf("You asked in <#%s>, <t:%d:f>:\n", q.ChannelID, q.AskedAt.Unix())
	sign := "\n\n— " + team
	budget := 4096 - 16 - utf8.RuneCountInString(head) - utf8.RuneCountInString(sign) - utf8.RuneCountInString(answer) - 2
	desc := head + quote(q.Text, max(budget, 40)) + "\n\n" + answer + sign
	return &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{{
			Type:        discordgo.EmbedTypeRich,
			Title:       answerTitle(q.ID),
			Timestamp:   answerTime(ans).Format(time.RFC3339Nano),
			Description: desc,
			Color:       colorAnswered,
			Footer:      &discordgo.MessageEmbedFooter{Text: team},
		}},
		AllowedMentions: NoMentions(),
	}
}

func answerTitle(questionID int64) string {
	return fmt.Sprintf("Answer to your question #%d", questionID)
}

// answerTime is when the answer was given, to the millisecond: the answer
// message's timestamp, by which a retry recognises an earlier delivery.
func answerTime(ans *Answer) time.Time { return ans.CreatedAt.UTC().Truncate(time.Millisecond) }

// quote renders text as a Markdown block quote of at most budget
// characters, cut at a word when needed, with any code fence it opened
// closed again.
func quote(text string, budget int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var b strings.Builder
	used := 0
	cut := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		n := utf8.RuneCountInString(l) + 3 // "> " + "\n"
		if used+n > budget-2 {
			room := budget - 2 - used - 3
			if room > 10 {
				b.WriteString("> " + articles.Excerpt(l, room) + "\n")
			} else {
				b.WriteString("> …\n")
			}
			cut = true
			break
		}
		b.WriteString("> " + l + "\n")
		used += n
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if cut && strings.Count(s, "```")%2 == 1 {
		s += "\n> ```"
	}
	return s
}

// cutRunes cuts s to at most n runes, ending with "…" when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// EscapeMarkdown makes text show literally in Discord Markdown (also inside
// link text) and keeps mentions inert.
func EscapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '*', '_', '~', '`', '|', '>', '#', '-', '[', ']', '(', ')', '<', '@':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
