package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

func (s suite) TestStoreArchived(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	a := Item("https://ex.com/a", "A", Day(1))
	a.NeedsFullText = true
	b := Item("https://ex.com/b", "B", Day(2))
	b.Text = "body of b"
	n, err := db.StoreArchived(ctx, []articles.Article{a, b, a})
	if err != nil || n != 2 {
		t.Fatalf("StoreArchived = %d, %v; want 2", n, err)
	}
	// Again, with more to say about a: only what it lacked is taken.
	a2 := Item("https://ex.com/a/?utm_campaign=x", "A renamed", Day(5))
	a2.Categories = []string{"news", "go"}
	a2.Links = []string{"https://ex.com/b"}
	a2.Image = "https://ex.com/a.png"
	a2.Text = "the whole body of a"
	b2 := b
	b2.Text = "another body"
	b2.Title = "B renamed"
	n, err = db.StoreArchived(ctx, []articles.Article{a2, b2})
	if err != nil || n != 0 {
		t.Fatalf("StoreArchived again = %d, %v; want 0", n, err)
	}
	got, err := db.ArticleByURL(ctx, "https://ex.com/a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "A" || !got.Published.Equal(Day(1)) || got.State != articles.StateRecorded ||
		!slices.Equal(got.Categories, []string{"news", "go"}) || !slices.Equal(got.Links, []string{"https://ex.com/b"}) ||
		got.Image != "https://ex.com/a.png" || got.Text != "the whole body of a" || got.NeedsFullText {
		t.Fatalf("a after filling: %+v", got)
	}
	gotB, _ := db.ArticleByURL(ctx, "https://ex.com/b")
	if gotB.Text != "body of b" || gotB.Title != "B" {
		t.Fatalf("b changed: %+v", gotB)
	}
	if n, err := db.StoreArchived(ctx, nil); n != 0 || err != nil {
		t.Fatalf("empty batch = %d, %v", n, err)
	}
	if _, err := db.StoreArchived(ctx, []articles.Article{{Title: "no site"}}); err == nil {
		t.Fatal("an article without site or link was stored")
	}
}

func (s suite) TestFullText(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	var items []articles.Article
	for i := range 4 {
		a := Item(fmt.Sprintf("https://ex.com/%d", i), fmt.Sprint(i), Day(i))
		a.NeedsFullText = i != 2 // 2 has its body already
		a.Text = "teaser"
		items = append(items, a)
	}
	if _, err := db.StoreArchived(ctx, items); err != nil {
		t.Fatal(err)
	}
	need, err := db.NeedFullText(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range need {
		titles = append(titles, a.Title)
	}
	if !slices.Equal(titles, []string{"3", "1", "0"}) {
		t.Fatalf("NeedFullText = %q, want newest first 3 1 0", titles)
	}
	if n, _ := db.NeedFullText(ctx, 1); len(n) != 1 || n[0].Title != "3" {
		t.Fatalf("NeedFullText(1) = %+v", n)
	}
	// 3 is read; 1 fails (never offered again); 0 stays.
	if err := db.SetFullText(ctx, need[0].ID, "full body of 3", "better summary"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetFullText(ctx, need[1].ID, "", ""); err != nil {
		t.Fatal(err)
	}
	need, _ = db.NeedFullText(ctx, 0)
	if len(need) != 1 || need[0].Title != "0" {
		t.Fatalf("NeedFullText after = %+v", need)
	}
	a3, _ := db.ArticleByURL(ctx, "https://ex.com/3")
	if a3.Text != "full body of 3" || a3.Summary != "better summary" || a3.NeedsFullText {
		t.Fatalf("3 = %+v", a3)
	}
	a1, _ := db.ArticleByURL(ctx, "https://ex.com/1")
	if a1.Text != "teaser" || a1.Summary != "1 summary" {
		t.Fatalf("a failed try changed 1: %+v", a1)
	}
	// Seen again with a summary only: still never offered again.
	if _, err := db.StoreArchived(ctx, items[1:2]); err != nil {
		t.Fatal(err)
	}
	if need, _ = db.NeedFullText(ctx, 0); len(need) != 1 {
		t.Fatalf("NeedFullText after re-seeing 1 = %+v", need)
	}
}

func (s suite) TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	c, err := db.Checkpoint(ctx, feed)
	if err != nil || c != (articles.Checkpoint{FeedURL: feed}) {
		t.Fatalf("no checkpoint = %+v, %v", c, err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC)
	want := articles.Checkpoint{FeedURL: feed, Site: "ex.com", Source: "wordpress", Cursor: "7", Stored: 600, LastError: "429", UpdatedAt: at}
	if err := db.SaveCheckpoint(ctx, want); err != nil {
		t.Fatal(err)
	}
	if c, _ = db.Checkpoint(ctx, feed); c != want {
		t.Fatalf("checkpoint = %+v, want %+v", c, want)
	}
	want.Cursor, want.Done, want.LastError, want.Stored = "", true, "", 640
	want.UpdatedAt = time.Time{}
	s.setClock(db, func() time.Time { return at.Add(time.Hour) })
	if err := db.SaveCheckpoint(ctx, want); err != nil {
		t.Fatal(err)
	}
	want.UpdatedAt = at.Add(time.Hour)
	if c, _ = db.Checkpoint(ctx, feed); c != want {
		t.Fatalf("checkpoint = %+v, want %+v", c, want)
	}
	if err := db.SaveCheckpoint(ctx, articles.Checkpoint{}); err == nil {
		t.Fatal("a checkpoint without feed was saved")
	}
}

func (s suite) TestEachArticle(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	var items []articles.Article
	const total = 600 // more than one page
	for i := range total {
		a := Item(fmt.Sprintf("https://ex.com/%d", i), fmt.Sprint(i), Day(i))
		a.Text = fmt.Sprint("text ", i)
		items = append(items, a)
	}
	if _, err := db.StoreArchived(ctx, items); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	err := db.EachArticle(ctx, 0, func(a articles.Article) error {
		if a.Text != "text "+a.Title {
			return fmt.Errorf("article %d without its text: %+v", a.ID, a)
		}
		ids = append(ids, a.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != total || !slices.IsSorted(ids) || ids[0] != 1 {
		t.Fatalf("EachArticle gave %d ids, sorted %v", len(ids), slices.IsSorted(ids))
	}
	// afterID resumes; an error from fn stops the walk and is returned.
	var n int
	stop := errors.New("stop")
	err = db.EachArticle(ctx, ids[299], func(a articles.Article) error {
		if a.ID <= ids[299] {
			t.Errorf("id %d not after %d", a.ID, ids[299])
		}
		n++
		if n == 290 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 290 {
		t.Fatalf("EachArticle = %v after %d", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.EachArticle(cctx, 0, func(articles.Article) error { return nil }); err == nil {
		t.Fatal("EachArticle with a cancelled context succeeded")
	}
}

func (s suite) TestArticleByURLAndCount(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	a := Item("https://ex.com/2024/05/hello/", "Hello", Day(1))
	other := Item("https://blog.other.org/x", "X", Day(2))
	if _, err := db.StoreArchived(ctx, []articles.Article{a, other}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://ex.com/2024/05/hello/",
		"https://ex.com/2024/05/hello",
		"HTTPS://EX.COM:443/2024/05/hello?utm_source=twitter&utm_medium=social#comments",
		"  https://ex.com/2024/05/hello/?fbclid=abc  ",
	} {
		got, err := db.ArticleByURL(ctx, u)
		if err != nil || got.Title != "Hello" {
			t.Errorf("ArticleByURL(%q) = %q, %v", u, got.Title, err)
		}
	}
	if got, err := db.ArticleByURL(ctx, "https://blog.other.org/x/"); err != nil || got.Title != "X" {
		t.Errorf("other site: %q, %v", got.Title, err)
	}
	if _, err := db.ArticleByURL(ctx, "https://ex.com/2024/05/hello?page=2"); !errors.Is(err, articles.ErrNotFound) {
		t.Errorf("a different query is another page: %v", err)
	}
	counts, err := db.CountArticles(ctx)
	if err != nil || len(counts) != 2 || counts["ex.com"] != 1 || counts["blog.other.org"] != 1 {
		t.Fatalf("CountArticles = %v, %v", counts, err)
	}
}
