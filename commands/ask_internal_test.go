package commands

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

func TestIsBlank(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, " \t\n": true, "\u200b\u200c\u200d\u2060\ufeff": true, "\u3164\u2800": true, "\u0301": true,
		"a": false, "?": false, " x ": false, "\u200bx": false, "日本": false, "🙂": false,
	} {
		if got := IsBlank(s); got != want {
			t.Errorf("IsBlank(%q) = %v", s, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for k, w := range want {
		if got := backoff(k+1, 0); got != w {
			t.Errorf("backoff(%d) = %v, want %v", k+1, got, w)
		}
	}
	if got := backoff(1, 30*time.Second); got != 30*time.Second {
		t.Errorf("backoff with retry_after 30s = %v", got)
	}
}

func TestClassify(t *testing.T) {
	rest := func(status int) error {
		return &discordgo.RESTError{Response: &http.Response{StatusCode: status}}
	}
	for _, c := range []struct {
		err  error
		want errorClass
	}{
		{rest(500), errTransient}, {rest(503), errTransient}, {rest(403), errRefused}, {rest(404), errRefused},
		{rest(400), errBad}, {&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: time.Second}}}, errTransient},
		{errors.New("dial tcp: timeout"), errTransient},
	} {
		if got, _ := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestResponseDeadline(t *testing.T) {
	now := time.Now()
	id := func(at time.Time) string {
		return strconvItoa((at.UnixMilli() - 1420070400000) << 22)
	}
	// Created 500 ms ago: 1.5 s left.
	if got := responseDeadline(id(now.Add(-500*time.Millisecond)), now, 2*time.Second); got.Sub(now) < 1400*time.Millisecond || got.Sub(now) > 1600*time.Millisecond {
		t.Errorf("deadline in %v", got.Sub(now))
	}
	// Created 2.8 s ago (a slow gateway): still a quarter of the budget.
	if got := responseDeadline(id(now.Add(-2800*time.Millisecond)), now, 2*time.Second); got.Sub(now) != 500*time.Millisecond {
		t.Errorf("late: deadline in %v", got.Sub(now))
	}
	// A creation time far in the past is no real snowflake (a small test
	// id, a skewed clock): from receipt.
	for _, fake := range []string{id(now.Add(-time.Hour)), "1001"} {
		if got := responseDeadline(fake, now, 2*time.Second); got.Sub(now) != 2*time.Second {
			t.Errorf("id %s: deadline in %v", fake, got.Sub(now))
		}
	}
	// Not a snowflake: from receipt.
	if got := responseDeadline("x", now, 2*time.Second); got.Sub(now) != 2*time.Second {
		t.Errorf("no snowflake: deadline in %v", got.Sub(now))
	}
}

func strconvItoa(n int64) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func TestThreadName(t *testing.T) {
	long := strings.Repeat("word ", 50)
	for _, c := range []struct{ text, want string }{
		{"How do I\n\nreset it?", "Question #7: How do I reset it?"},
		{"\u200b", "Question #7"},
	} {
		if got := threadName("Question #7: ", c.text); got != c.want {
			t.Errorf("threadName(%q) = %q", c.text, got)
		}
	}
	if got := threadName("Question #7: ", long); utf8.RuneCountInString(got) > 100 || !strings.HasSuffix(got, "…") {
		t.Errorf("long: %q", got)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 45 * time.Second: "45 seconds", 61 * time.Second: "2 minutes",
		10 * time.Minute: "10 minutes", 7 * 24 * time.Hour: "7 days", 90 * time.Minute: "2 hours",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func checkEmbed(t *testing.T, e *discordgo.MessageEmbed) {
	t.Helper()
	if utf8.RuneCountInString(e.Description) > 4096 || len(e.Fields) > 25 || embedSize(e) > 6000 || utf8.RuneCountInString(e.Title) > 256 {
		t.Fatalf("embed over limits: description %d, %d fields, size %d", utf8.RuneCountInString(e.Description), len(e.Fields), embedSize(e))
	}
	for _, f := range e.Fields {
		if n := utf8.RuneCountInString(f.Name); n == 0 || n > 256 {
			t.Fatalf("field name %d runes", n)
		}
		if n := utf8.RuneCountInString(f.Value); n == 0 || n > 1024 {
			t.Fatalf("field value %d runes", n)
		}
	}
}

// FuzzAskMessages: whatever the question, answers and names, the team
// message and the answer stay within Discord's limits, and the question is
// never cut in the team message.
func FuzzAskMessages(f *testing.F) {
	f.Add("How @everyone?", "Use **Settings**.", "mate", 3)
	f.Add(strings.Repeat("é", AskMaxQuestion), strings.Repeat("answer ", AskMaxAnswer/7), strings.Repeat("n", 300), 30)
	f.Add("```go\ncode\n```\n"+strings.Repeat("line\n", 400), strings.Repeat("x", AskMaxAnswer), "a_b*c", 1)
	f.Fuzz(func(t *testing.T, question, answer, name string, n int) {
		question = cutRunes(question, AskMaxQuestion)
		answer = cutRunes(answer, AskMaxAnswer)
		if IsBlank(question) {
			question = "q"
		}
		if IsBlank(answer) {
			answer = "a"
		}
		if name == "" {
			name = "n"
		}
		n = max(0, min(n%40, 40))
		q := &Question{ID: 12345, GuildID: "300", ChannelID: "402", UserID: "500", UserName: name, Text: question, AskedAt: time.Unix(1700000000, 0)}
		var answers []Answer
		for k := range n {
			answers = append(answers, Answer{ID: int64(k + 1), QuestionID: q.ID, TeamUserName: name, Text: answer, State: []string{AnswerPending, AnswerDelivered, AnswerFailed}[k%3], How: DeliveredThread, TargetID: "123456789012345678"})
		}
		embeds, _ := teamMessage(q, answers)
		checkEmbed(t, embeds[0])
		if embeds[0].Description != question {
			t.Fatal("question cut in the team message")
		}
		q.ClosedAt, q.ClosedBy = time.Unix(1700000100, 0), name
		embeds, _ = teamMessage(q, answers)
		checkEmbed(t, embeds[0])

		m := answerMessage(q, &Answer{Text: answer}, name)
		checkEmbed(t, m.Embeds[0])
		if !strings.Contains(m.Embeds[0].Description, answer) {
			t.Fatal("answer cut in the DM")
		}
		if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
			t.Fatal("DM without explicit empty allowed_mentions")
		}
	})
}
