package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

var articleSeq atomic.Int64

// oneArticle stores a new article (recorded) and returns its id.
func oneArticle(t *testing.T, db Store) int64 {
	t.Helper()
	ctx := context.Background()
	link := fmt.Sprintf("https://ex.com/a%d", articleSeq.Add(1))
	if _, err := db.StoreArchived(ctx, []articles.Article{Item(link, "A", Day(1))}); err != nil {
		t.Fatal(err)
	}
	a, err := db.ArticleByURL(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func (s suite) TestTransitions(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		do   func(db Store, id int64) error
	}
	sending := op{"MarkSending", func(db Store, id int64) error { return db.MarkSending(ctx, id) }}
	posted := op{"MarkPosted", func(db Store, id int64) error { return db.MarkPosted(ctx, id, "new") }}
	retrySent := op{"MarkRetry(sent)", func(db Store, id int64) error { return db.MarkRetry(ctx, id, "timeout", true) }}
	retryUnsent := op{"MarkRetry(unsent)", func(db Store, id int64) error { return db.MarkRetry(ctx, id, "429", false) }}
	failed := op{"MarkFailed", func(db Store, id int64) error { return db.MarkFailed(ctx, id, "400") }}

	const errState = "error"
	db := s.open(t)
	for _, tc := range []struct {
		from articles.State
		op   op
		want articles.State // errState: refused, state unchanged
	}{
		{articles.StateRecorded, sending, errState},
		{articles.StatePending, sending, articles.StateSending},
		{articles.StateSending, sending, articles.StateSending},
		{articles.StatePosted, sending, errState},
		{articles.StateFailed, sending, errState},

		{articles.StateRecorded, posted, errState},
		{articles.StatePending, posted, articles.StatePosted},
		{articles.StateSending, posted, articles.StatePosted},
		{articles.StatePosted, posted, articles.StatePosted}, // no-op: keeps its first message
		{articles.StateFailed, posted, articles.StatePosted},

		{articles.StateRecorded, retrySent, errState},
		{articles.StatePending, retrySent, articles.StateSending},
		{articles.StateSending, retrySent, articles.StateSending},
		{articles.StatePosted, retrySent, articles.StatePosted},
		{articles.StateFailed, retrySent, articles.StateFailed},

		{articles.StateRecorded, retryUnsent, errState},
		{articles.StatePending, retryUnsent, articles.StatePending},
		{articles.StateSending, retryUnsent, articles.StatePending},
		{articles.StatePosted, retryUnsent, articles.StatePosted},
		{articles.StateFailed, retryUnsent, articles.StateFailed},

		{articles.StateRecorded, failed, errState},
		{articles.StatePending, failed, articles.StateFailed},
		{articles.StateSending, failed, articles.StateFailed},
		{articles.StatePosted, failed, articles.StatePosted},
		{articles.StateFailed, failed, articles.StateFailed},
	} {
		t.Run(string(tc.from)+"/"+tc.op.name, func(t *testing.T) {
			id := oneArticle(t, db)
			s.setState(t, db, id, tc.from)
			before, _ := db.ArticleByID(ctx, id)
			err := tc.op.do(db, id)
			after, _ := db.ArticleByID(ctx, id)
			if tc.want == errState {
				if err == nil {
					t.Fatalf("%s from %s succeeded", tc.op.name, tc.from)
				}
				if after.State != tc.from {
					t.Fatalf("refused %s moved %s to %s", tc.op.name, tc.from, after.State)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s from %s: %v", tc.op.name, tc.from, err)
			}
			if after.State != tc.want {
				t.Fatalf("%s from %s gave %s, want %s", tc.op.name, tc.from, after.State, tc.want)
			}
			if tc.from == articles.StatePosted && !reflect.DeepEqual(after, before) {
				t.Fatalf("a posted article changed:\n%+v\n%+v", before, after)
			}
			if tc.want == articles.StatePosted && tc.from != articles.StatePosted && after.MessageID != "new" {
				t.Fatalf("message id = %q", after.MessageID)
			}
		})
	}
}

func (s suite) TestPostingLifecycle(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	clock := Epoch
	s.setClock(db, func() time.Time { clock = clock.Add(time.Second); return clock })
	Record(t, db, Poll("https://ex.com/feed", TenItems()...), 3) // Post 7, 8, 9 pending

	due, err := db.Due(ctx, 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("Due = %v, %v", due, err)
	}
	p7, p8, p9 := due[0], due[1], due[2]

	// Post 7: a timeout, so it stays sending; then found and posted.
	if err := db.MarkSending(ctx, p7.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkRetry(ctx, p7.ID, "timeout", true); err != nil {
		t.Fatal(err)
	}
	a, _ := db.ArticleByID(ctx, p7.ID)
	if a.State != articles.StateSending || a.Attempts != 1 || a.LastError != "timeout" {
		t.Fatalf("after timeout: %+v", a)
	}
	if due, _ := db.Due(ctx, 1); len(due) != 1 || due[0].ID != p7.ID {
		t.Fatalf("a sending article is still due first: %+v", due)
	}
	db.MarkSending(ctx, p7.ID)
	if err := db.MarkPosted(ctx, p7.ID, "m7"); err != nil {
		t.Fatal(err)
	}
	a, _ = db.ArticleByID(ctx, p7.ID)
	if a.State != articles.StatePosted || a.MessageID != "m7" || a.Attempts != 2 || a.LastError != "" {
		t.Fatalf("posted: %+v", a)
	}
	// A second MarkPosted (another process, a replay) keeps the first id.
	if err := db.MarkPosted(ctx, p7.ID, "other"); err != nil {
		t.Fatal(err)
	}
	if a, _ = db.ArticleByID(ctx, p7.ID); a.MessageID != "m7" {
		t.Fatalf("message id replaced: %q", a.MessageID)
	}

	// Post 8: a 429 returns it to pending.
	db.MarkSending(ctx, p8.ID)
	db.MarkRetry(ctx, p8.ID, "429", false)
	if a, _ = db.ArticleByID(ctx, p8.ID); a.State != articles.StatePending || a.Attempts != 1 {
		t.Fatalf("after 429: %+v", a)
	}

	// Post 8 and 9 refused for good, 9 last: Failed lists 9 first.
	for _, id := range []int64{p8.ID, p9.ID} {
		db.MarkSending(ctx, id)
		if err := db.MarkFailed(ctx, id, "400 bad embed"); err != nil {
			t.Fatal(err)
		}
	}
	failed, err := db.Failed(ctx, 0)
	if err != nil || len(failed) != 2 || failed[0].ID != p9.ID || failed[1].LastError != "400 bad embed" {
		t.Fatalf("Failed = %+v, %v", failed, err)
	}
	if f1, _ := db.Failed(ctx, 1); len(f1) != 1 {
		t.Fatalf("Failed(1) = %d articles", len(f1))
	}
	if due, _ := db.Due(ctx, 0); len(due) != 0 {
		t.Fatalf("due after all done: %+v", due)
	}
	// A failed article is not pending again when its feed lists it.
	st := Record(t, db, Poll("https://ex.com/feed", TenItems()...), 3)
	if st.Pending != 0 {
		t.Fatalf("re-poll made %d pending", st.Pending)
	}
}

func (s suite) TestDueOrder(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	Record(t, db, Poll(feed), 0) // first poll: empty; everything after is new

	mk := func(link string, pub, seen time.Time) articles.Article {
		a := Item(link, link[len("https://ex.com/"):], pub)
		a.FirstSeen = seen
		return a
	}
	// Listed newest first, with ties on Published broken by FirstSeen, then
	// by reverse feed order (the later-listed of two same-date items is the
	// older), and an undated one (sorts first).
	items := []articles.Article{
		mk("https://ex.com/d", Day(3), Day(3)),
		mk("https://ex.com/c2", Day(2), Day(5)),
		mk("https://ex.com/c1", Day(2), Day(4)),
		mk("https://ex.com/b-listed-first", Day(1), Day(1)),
		mk("https://ex.com/b-listed-second", Day(1), Day(1)),
		mk("https://ex.com/undated", time.Time{}, Day(9)),
	}
	Record(t, db, Poll(feed, items...), 0)
	want := []string{"undated", "b-listed-second", "b-listed-first", "c1", "c2", "d"}
	if got := dueTitles(t, db); !slices.Equal(got, want) {
		t.Fatalf("due = %q, want %q", got, want)
	}
	due, _ := db.Due(ctx, 2)
	if len(due) != 2 || due[0].Title != "undated" {
		t.Fatalf("Due(2) = %+v", due)
	}
}

func (s suite) TestMarkSendingRefusalIsNotNotFound(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	id := oneArticle(t, db)
	s.setState(t, db, id, articles.StatePosted)
	err := db.MarkSending(ctx, id)
	if err == nil || errors.Is(err, articles.ErrNotFound) {
		t.Fatalf("MarkSending on a posted article: %v", err)
	}
}
