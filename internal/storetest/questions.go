package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/newsbot/newsbot/commands"
)

func (s suite) TestQuestionLifecycle(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

	id, err := db.CreateQuestion(ctx, &commands.Question{
		GuildID: "300", ChannelID: "400", UserID: "500", UserName: "member",
		Text: "How @everyone?", AskedAt: t0, TeamChannelID: "401", NextAttempt: t0.Add(5 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := db.CreateQuestion(ctx, &commands.Question{UserID: "500", Text: "second", AskedAt: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if id != 1 || id2 != 2 {
		t.Fatalf("ids = %d, %d; want 1, 2", id, id2)
	}
	q, err := db.Question(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if q.Text != "How @everyone?" || q.UserName != "member" || !q.AskedAt.Equal(t0) || q.Forwarded || q.Closed() {
		t.Fatalf("question = %+v", q)
	}
	if _, err := db.Question(ctx, 99); !errors.Is(err, commands.ErrQuestionNotFound) {
		t.Fatalf("missing question: err = %v", err)
	}

	// Rate limit.
	times, err := db.QuestionTimes(ctx, "500", t0.Add(30*time.Second))
	if err != nil || len(times) != 1 || !times[0].Equal(t0.Add(time.Minute)) {
		t.Fatalf("QuestionTimes = %v, %v", times, err)
	}
	if times, _ := db.QuestionTimes(ctx, "501", t0); len(times) != 0 {
		t.Fatalf("other member's times = %v", times)
	}

	// Queue: #1 is due only after its first back-off; #2 at once.
	due, err := db.DueForwards(ctx, t0.Add(time.Minute), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueForwards = %v, %v", due, err)
	}
	if due, _ := db.DueForwards(ctx, t0.Add(2*time.Second), 10); len(due) != 0 {
		t.Fatalf("DueForwards before the back-off = %v", due)
	}
	if next, ok, err := db.NextRetry(ctx); err != nil || !ok || !next.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("NextRetry = %v, %v, %v", next, ok, err)
	}
	if err := db.MarkForwardAttempt(ctx, id, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkForwardFailed(ctx, id, t0.Add(10*time.Second), "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	q, _ = db.Question(ctx, id)
	if q.ForwardAttempts != 1 || q.LastError != "HTTP 500" || !q.NextAttempt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after failure: %+v", q)
	}
	if err := db.MarkForwarded(ctx, id, "401", "m1", t0.Add(11*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetTeamThread(ctx, id, "th1"); err != nil {
		t.Fatal(err)
	}
	q, _ = db.Question(ctx, id)
	if !q.Forwarded || q.TeamMessageID != "m1" || q.TeamThreadID != "th1" || q.LastError != "" || !q.NextAttempt.IsZero() {
		t.Fatalf("after forward: %+v", q)
	}
	if due, _ := db.DueForwards(ctx, t0.Add(time.Hour), 10); len(due) != 1 || due[0].ID != id2 {
		t.Fatalf("DueForwards after forward = %v", due)
	}
	if err := db.MarkForwarded(ctx, id2, "401", "m2", t0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.NextRetry(ctx); ok {
		t.Fatal("NextRetry: something waits after everything was forwarded")
	}

	// Answers: delivered in order; only the oldest pending one is due.
	var ans []int64
	for k, text := range []string{"first", "second", "third"} {
		aid, err := db.AddAnswer(ctx, &commands.Answer{QuestionID: id, TeamUserID: "600", TeamUserName: "teammate", Text: text, CreatedAt: t0.Add(time.Duration(k) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ans = append(ans, aid)
	}
	due2, err := db.DueAnswers(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due2) != 1 || due2[0].ID != ans[0] {
		t.Fatalf("DueAnswers = %v, %v", due2, err)
	}
	// Two attempts, each followed by its outcome (on PostgreSQL an attempt
	// claims the delivery until then).
	for range 2 {
		if err := db.MarkAnswerAttempt(ctx, ans[0]); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkAnswerRetry(ctx, ans[0], t0.Add(time.Hour), "HTTP 503"); err != nil {
			t.Fatal(err)
		}
	}
	if due2, _ := db.DueAnswers(ctx, t0.Add(time.Minute), 10); len(due2) != 0 {
		t.Fatalf("DueAnswers while the head waits = %v", due2)
	}
	if next, ok, _ := db.NextRetry(ctx); !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("NextRetry = %v, %v", next, ok)
	}
	if err := db.MarkAnswerDelivered(ctx, ans[0], commands.DeliveredDM, "dm1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnswerFailed(ctx, ans[1], "gone", t0); err != nil {
		t.Fatal(err)
	}
	all, err := db.Answers(ctx, id)
	if err != nil || len(all) != 3 {
		t.Fatalf("Answers = %v, %v", all, err)
	}
	if all[0].State != commands.AnswerDelivered || all[0].How != "dm" || all[0].TargetID != "dm1" || all[0].Attempts != 2 ||
		all[1].State != commands.AnswerFailed || all[2].State != commands.AnswerPending || all[2].Text != "third" {
		t.Fatalf("answers = %+v", all)
	}
	if due2, _ := db.DueAnswers(ctx, t0.Add(time.Hour), 10); len(due2) != 1 || due2[0].ID != ans[2] {
		t.Fatalf("DueAnswers = %v", due2)
	}

	// Close once.
	if ok, err := db.CloseQuestion(ctx, id, "teammate", t0.Add(2*time.Hour)); err != nil || !ok {
		t.Fatalf("CloseQuestion = %v, %v", ok, err)
	}
	if ok, err := db.CloseQuestion(ctx, id, "other", t0.Add(3*time.Hour)); err != nil || ok {
		t.Fatalf("second CloseQuestion = %v, %v", ok, err)
	}
	if _, err := db.CloseQuestion(ctx, 99, "x", t0); !errors.Is(err, commands.ErrQuestionNotFound) {
		t.Fatalf("CloseQuestion(99) err = %v", err)
	}
	q, _ = db.Question(ctx, id)
	if q.ClosedBy != "teammate" || !q.ClosedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("closed: %+v", q)
	}
	if stale, err := db.StaleTeamMessages(ctx, 10); err != nil || len(stale) != 0 {
		t.Fatalf("StaleTeamMessages = %v, %v", stale, err)
	}
	if err := db.MarkTeamMessage(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if stale, _ := db.StaleTeamMessages(ctx, 10); len(stale) != 1 || stale[0].ID != id || !stale[0].TeamStale {
		t.Fatalf("StaleTeamMessages = %+v", stale)
	}
	if err := db.MarkTeamMessage(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if stale, _ := db.StaleTeamMessages(ctx, 10); len(stale) != 0 {
		t.Fatalf("StaleTeamMessages after clearing = %v", stale)
	}
	if err := db.SetMemberThread(ctx, id, "pt1"); err != nil {
		t.Fatal(err)
	}
	if q, _ = db.Question(ctx, id); q.MemberThreadID != "pt1" {
		t.Fatalf("member thread = %q", q.MemberThreadID)
	}
}

func (s suite) TestBlocks(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	until := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if u, err := db.BlockedUntil(ctx, "500"); err != nil || !u.IsZero() {
		t.Fatalf("BlockedUntil = %v, %v", u, err)
	}
	if err := db.BlockMember(ctx, "500", until, "teammate"); err != nil {
		t.Fatal(err)
	}
	if err := db.BlockMember(ctx, "500", until.Add(time.Hour), "teammate"); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.BlockedUntil(ctx, "500"); !u.Equal(until.Add(time.Hour)) {
		t.Fatalf("BlockedUntil = %v", u)
	}
	if err := db.UnblockMember(ctx, "500"); err != nil {
		t.Fatal(err)
	}
	if err := db.UnblockMember(ctx, "500"); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.BlockedUntil(ctx, "500"); !u.IsZero() {
		t.Fatalf("BlockedUntil after unblock = %v", u)
	}
}
