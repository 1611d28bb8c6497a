package commands_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// fakeFresh is an IndexFreshener over an index and articles stored but not
// indexed yet; behind is what it reports (the store's lag).
type fakeFresh struct {
	mu      sync.Mutex
	ix      *related.Index
	pending []articles.Article
	behind  int64
	syncs   int
}

func (f *fakeFresh) Behind(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.behind, nil
}

func (f *fakeFresh) Busy() bool { return false }

func (f *fakeFresh) Sync(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	for _, a := range f.pending {
		f.ix.Add(a)
	}
	n := len(f.pending)
	f.pending, f.behind = nil, 0
	return n, nil
}

// fakeLinks is a LinkReader: kinds by URL; a readable link's page is the
// article in pages, which ReadLink adds to the index.
type fakeLinks struct {
	mu    sync.Mutex
	ix    *related.Index
	kinds map[string]commands.LinkKind
	pages map[string]articles.Article
	reads []string
}

func (l *fakeLinks) Classify(_ context.Context, u string) (commands.LinkKind, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kinds[u], nil
}

func (l *fakeLinks) ReadLink(_ context.Context, u string) (articles.Article, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads = append(l.reads, u)
	a, ok := l.pages[u]
	if !ok {
		return articles.Article{}, commands.ErrLinkUnreadable
	}
	l.ix.Add(a)
	return a, nil
}

// answerText waits for the final answer (after a deferral too) and returns
// the exchange and its text.
func (e *relE2E) answerText(q string) (discordtest.Exchange, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	it, err := e.srv.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", q)))
	if err != nil {
		e.t.Fatal(err)
	}
	ex, err := e.srv.WaitExchange(ctx, it.ID, func(x discordtest.Exchange) bool {
		return x.Response != nil && (x.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || len(x.Edits) > 0 || len(x.Followups) > 0)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	if d := ex.Response.Data; d != nil {
		b.WriteString(d.Content)
		for _, em := range d.Embeds {
			b.WriteString(em.Description)
		}
	}
	for _, raw := range ex.Edits {
		var m discordgo.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatal(err)
		}
		b.WriteString(m.Content)
		for _, em := range m.Embeds {
			b.WriteString(em.Description)
		}
	}
	for _, m := range ex.Followups {
		b.WriteString(m.Content)
	}
	return ex, b.String()
}

func freshArticle() articles.Article {
	return articles.Article{ID: 9, Site: "example.com", URL: "https://example.com/gc-arena/", Title: "Arenas for the garbage collector",
		Text: "Arenas free memory in bulk; the garbage collector pauses less.", Published: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)}
}

// TestRelatedSyncsBeforeAnswering: an article stored but not yet indexed is
// known to /related: a small lag is synced at once (no deferral).
func TestRelatedSyncsBeforeAnswering(t *testing.T) {
	ix := relIndex()
	fresh := &fakeFresh{ix: ix, pending: []articles.Article{freshArticle()}, behind: 1}
	e := newRelE2EWith(t, func(r commands.Responder) commands.Command {
		return commands.NewRelatedWith(commands.RelatedOptions{Index: ix, Responder: r, Fresh: fresh})
	})
	ex, text := e.answerText("https://example.com/gc-arena/")
	if ex.Response.Type != discordgo.InteractionResponseChannelMessageWithSource {
		t.Errorf("answer type %d: a small lag should not defer", ex.Response.Type)
	}
	if !strings.Contains(text, "Related to: **Arenas for the garbage collector**") {
		t.Errorf("answer %q", text)
	}
	// Up to date: no more syncs.
	e.answerText("garbage collector")
	if fresh.syncs != 1 {
		t.Errorf("%d syncs, want 1", fresh.syncs)
	}
}

// TestRelatedDefersWhenFarBehind: a large lag defers first, then the answer
// is an edit of the deferred message; a no-match after a deferral is an
// ephemeral follow-up and the public "thinking" message is removed.
func TestRelatedDefersWhenFarBehind(t *testing.T) {
	ix := relIndex()
	fresh := &fakeFresh{ix: ix, pending: []articles.Article{freshArticle()}, behind: 7000}
	e := newRelE2EWith(t, func(r commands.Responder) commands.Command {
		return commands.NewRelatedWith(commands.RelatedOptions{Index: ix, Responder: r, Fresh: fresh})
	})
	ex, text := e.answerText("https://example.com/gc-arena/")
	if ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || len(ex.Edits) != 1 {
		t.Fatalf("type %d with %d edits, want a deferral and one edit", ex.Response.Type, len(ex.Edits))
	}
	if !strings.Contains(text, "Related to: **Arenas for the garbage collector**") {
		t.Errorf("answer %q", text)
	}

	fresh.mu.Lock()
	fresh.behind = 7000
	fresh.mu.Unlock()
	ex, text = e.answerText("xyzzy plugh")
	if len(ex.Followups) != 1 || ex.Followups[0].Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(text, "xyzzy plugh") {
		t.Fatalf("no match after deferral: %d follow-ups, text %q", len(ex.Followups), text)
	}
	// The follow-up comes first, then the deferred message goes.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.srv.WaitExchange(ctx, ex.Interaction.ID, func(x discordtest.Exchange) bool { return x.Original == nil }); err != nil {
		t.Errorf("the deferred message is never removed: %v", err)
	}
}

// TestRelatedUnknownLinkKinds: a link to another host is refused and never
// read; a site link that cannot be read gets the no-match message; a site
// link that can is read (after a deferral) and answered for; a link that
// names a stored article is never read.
func TestRelatedUnknownLinkKinds(t *testing.T) {
	ix := relIndex()
	page := freshArticle()
	links := &fakeLinks{ix: ix,
		kinds: map[string]commands.LinkKind{
			"https://elsewhere.example/a/": commands.LinkOffSite,
			"https://example.com/story/1":  commands.LinkUnreadable,
			page.URL:                       commands.LinkReadable,
		},
		pages: map[string]articles.Article{page.URL: page},
	}
	e := newRelE2EWith(t, func(r commands.Responder) commands.Command {
		return commands.NewRelatedWith(commands.RelatedOptions{Index: ix, Responder: r, Links: links})
	})
	for _, tc := range []struct {
		q, want string
		read    bool
	}{
		{"https://elsewhere.example/a/", "only look up", false},
		{"https://example.com/story/1", "Nothing in the archive matches", false},
		{"example.com/gc-intro", "Related to: **Getting to know the garbage collector**", false},
		{page.URL, "Related to: **Arenas for the garbage collector**", true},
		{page.URL, "Related to: **Arenas for the garbage collector**", false}, // indexed now
	} {
		before := len(links.reads)
		ex, text := e.answerText(tc.q)
		if !strings.Contains(text, tc.want) {
			t.Errorf("%s: %q, want %q", tc.q, text, tc.want)
		}
		if read := len(links.reads) > before; read != tc.read {
			t.Errorf("%s: page read %v, want %v", tc.q, read, tc.read)
		}
		if tc.read && ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			t.Errorf("%s: a page read without deferring first", tc.q)
		}
		if strings.Contains(tc.want, "only") || strings.Contains(tc.want, "Nothing") {
			if ex.Response.Data == nil || ex.Response.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
				t.Errorf("%s: refusal not ephemeral", tc.q)
			}
		}
	}
}

// TestRelatedAutocompleteSyncsSmallLag: autocomplete suggests an article
// stored a moment ago.
func TestRelatedAutocompleteSyncsSmallLag(t *testing.T) {
	ix := relIndex()
	fresh := &fakeFresh{ix: ix, pending: []articles.Article{freshArticle()}, behind: 1}
	e := newRelE2EWith(t, func(r commands.Responder) commands.Command {
		return commands.NewRelatedWith(commands.RelatedOptions{Index: ix, Responder: r, Fresh: fresh})
	})
	resp := e.interact(discordtest.Autocomplete("related", discordtest.Focused("query", "arenas")))
	if resp.Data == nil || len(resp.Data.Choices) == 0 || !strings.Contains(resp.Data.Choices[0].Name, "Arenas for the garbage collector") {
		t.Fatalf("autocomplete %+v", resp.Data)
	}
}
