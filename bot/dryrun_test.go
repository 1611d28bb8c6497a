package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

func TestPrintSender(t *testing.T) {
	var out strings.Builder
	p := NewPrintSender(&out)
	a := articles.Article{
		URL: "https://go.dev/blog/go1.22", Title: "Go 1.22 is released!", Summary: "First line.\nSecond line.",
		Author: "Eli", Published: time.Date(2024, 2, 6, 0, 0, 0, 0, time.UTC), Image: "https://go.dev/i.png", FeedTitle: "The Go Blog",
	}
	also := []articles.Article{{URL: "https://go.dev/blog/a", Title: "A"}, {URL: "https://go.dev/blog/b", Title: "B"}}
	id, err := p.Send(context.Background(), "400", BuildPost(a, also, "77"), articles.DeliveryNonce(a, "400"))
	if err != nil || id != "dry-run-1" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	want := `──── post 1 (dry run) ─────────────────────────────
channel:     400
content:     <@&77>
title:       Go 1.22 is released!
url:         https://go.dev/blog/go1.22
description: First line.
             Second line.
author:      Eli
time:        2024-02-06T00:00:00Z
image:       https://go.dev/i.png
Also Read:   • [A](https://go.dev/blog/a)
             • [B](https://go.dev/blog/b)
footer:      The Go Blog

`
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	// Fields that are empty are left out.
	out.Reset()
	if _, err := p.Send(context.Background(), "400", BuildPost(articles.Article{Title: "T"}, nil, ""), ""); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "──── post 2 (dry run) ─────────────────────────────\nchannel:     400\ntitle:       T\n\n" {
		t.Errorf("printed %q", got)
	}
	if ms, err := p.Recent(context.Background(), "400", 50); len(ms) != 0 || err != nil {
		t.Errorf("Recent = %v, %v", ms, err)
	}
}
