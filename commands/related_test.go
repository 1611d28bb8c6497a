package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// relArticles is a small site: three articles on garbage collection, two on
// generics, one on a café meetup (accented title), one with Markdown in its
// title.
func relArticles() []articles.Article {
	day := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(id int64, slug, title, text string) articles.Article {
		pub := day.Add(time.Duration(id) * 24 * time.Hour)
		if id < 0 { // older than the rest
			id = -id
		}
		return articles.Article{ID: id, Site: "example.com", URL: "https://example.com/" + slug + "/", Title: title, Text: text,
			Published: pub}
	}
	return []articles.Article{
		mk(1, "gc-intro", "Getting to know the garbage collector", "The garbage collector frees memory the program no longer uses. Collection pauses and heap size trade off."),
		mk(2, "gc-tuning", "Tuning garbage collection pauses", "Tuning the collector: the heap target, memory limits and pauses of the garbage collection cycle."),
		mk(3, "gc-memory-limit", "A soft memory limit for the *garbage* collector @everyone", "The memory limit bounds the heap; the garbage collector runs more often near the limit to avoid pauses."),
		mk(4, "generics-intro", "An introduction to generics", "Generics add type parameters to functions and types. Type parameters have constraints."),
		mk(5, "generics-constraints", "Type parameter constraints explained", "Constraints say which types a type parameter accepts; generic functions use them."),
		mk(6, "cafe", "Café Über Alles: the Zürich meetup", "Talks and coffee: the community met in Zürich."),
		mk(7, "release", "Release notes for the new collector", "The new release ships a garbage collector with shorter pauses and a memory limit."),
		mk(-8, "meetup-recap", "Community meetup recap", "Talks, coffee and the community at the meetup in Zürich."),
	}
}

func relIndex() *related.Index {
	ix := related.New()
	for _, a := range relArticles() {
		ix.Add(a)
	}
	return ix
}

// relRecorder is a Responder that records what it is asked to send.
type relRecorder struct {
	mu    sync.Mutex
	resps []*discordgo.InteractionResponse
}

func (r *relRecorder) InteractionRespond(_ *discordgo.Interaction, resp *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resps = append(r.resps, resp)
	return nil
}

func (r *relRecorder) InteractionResponseEdit(*discordgo.Interaction, *discordgo.WebhookEdit, ...discordgo.RequestOption) (*discordgo.Message, error) {
	return nil, fmt.Errorf("unexpected edit")
}

func (r *relRecorder) FollowupMessageCreate(*discordgo.Interaction, bool, *discordgo.WebhookParams, ...discordgo.RequestOption) (*discordgo.Message, error) {
	return nil, fmt.Errorf("unexpected follow-up")
}

// relPayload is an INTERACTION_CREATE "d" as Discord sends it for /related.
func relPayload(typ int, query *string, focused bool) string {
	opts := "[]"
	if query != nil {
		q, _ := json.Marshal(*query)
		f := ""
		if focused {
			f = `,"focused":true`
		}
		opts = fmt.Sprintf(`[{"name":"query","type":3,"value":%s%s}]`, q, f)
	}
	return fmt.Sprintf(`{"id":"1100","application_id":"200","type":%d,"token":"tok","version":1,"guild_id":"300","channel_id":"402",
"member":{"user":{"id":"500","username":"member"},"roles":[],"permissions":"2048"},
"data":{"id":"900","name":"related","type":1,"options":%s}}`, typ, opts)
}

// relDo runs a recorded interaction payload through /related and returns
// its one response.
func relDo(t *testing.T, payload string) *discordgo.InteractionResponse {
	t.Helper()
	var i discordgo.InteractionCreate
	if err := json.Unmarshal([]byte(payload), &i); err != nil {
		t.Fatalf("payload: %v", err)
	}
	r := &relRecorder{}
	cmd := commands.NewRelated(relIndexFor(t), r)
	h := cmd.Handle
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		h = cmd.Autocomplete
	}
	if err := h(context.Background(), &i); err != nil {
		t.Fatalf("handler: %v", err)
	}
	if len(r.resps) != 1 {
		t.Fatalf("%d responses, want exactly 1", len(r.resps))
	}
	return r.resps[0]
}

var (
	relIxOnce sync.Once
	relIx     *related.Index
)

func relIndexFor(*testing.T) *related.Index {
	relIxOnce.Do(func() { relIx = relIndex() })
	return relIx
}

func relStr(s string) *string { return &s }

// relCheckAlsoRead checks an "Also Read" answer and returns the linked URLs.
func relCheckAlsoRead(t *testing.T, resp *discordgo.InteractionResponse) []string {
	t.Helper()
	if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || resp.Data == nil || len(resp.Data.Embeds) != 1 {
		t.Fatalf("response %+v: want a message with one embed", resp)
	}
	am := resp.Data.AllowedMentions
	if am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Roles) != 0 || len(am.Users) != 0 {
		t.Errorf("allowed mentions %+v: want explicitly none", am)
	}
	e := resp.Data.Embeds[0]
	if e.Title != "Also Read" || utf8.RuneCountInString(e.Description) > 4096 {
		t.Errorf("embed title %q, description %d runes", e.Title, utf8.RuneCountInString(e.Description))
	}
	var urls []string
	for _, line := range strings.Split(e.Description, "\n") {
		if i := strings.Index(line, "](https://"); i >= 0 && len(line) > 0 && line[0] >= '1' && line[0] <= '9' {
			u := line[i+2:]
			urls = append(urls, u[:strings.IndexByte(u, ')')])
			if !strings.Contains(line, "<t:") {
				t.Errorf("line without date: %q", line)
			}
		}
	}
	if len(urls) == 0 || len(urls) > 5 {
		t.Errorf("%d links in %q", len(urls), e.Description)
	}
	return urls
}

func TestRelatedDefinition(t *testing.T) {
	cmd := commands.NewRelated(relIndex(), &relRecorder{})
	d := cmd.Definition
	if d.Name != "related" || d.Description == "" || len(d.Description) > 100 || len(d.Options) != 1 {
		t.Fatalf("definition %+v", d)
	}
	o := d.Options[0]
	if o.Name != "query" || o.Type != discordgo.ApplicationCommandOptionString || o.Required || !o.Autocomplete || o.MaxLength <= 0 || o.MaxLength > 6000 {
		t.Errorf("option %+v", o)
	}
	if d.Contexts == nil || len(*d.Contexts) != 1 || (*d.Contexts)[0] != discordgo.InteractionContextGuild {
		t.Errorf("contexts %v: want guild only", d.Contexts)
	}
	if cmd.Handle == nil || cmd.Autocomplete == nil {
		t.Error("handlers missing")
	}
}

func TestRelatedAnswers(t *testing.T) {
	self := "https://example.com/gc-intro/"
	for _, tc := range []struct {
		name, query string
		named       string // "Related to" article title part, "" for free text
		want        string // a URL expected among the links
	}{
		{"url", "https://example.com/gc-intro/", "Getting to know", "https://example.com/gc-tuning/"},
		{"url variant", "http://example.com/gc-intro?utm_source=x", "Getting to know", "https://example.com/gc-tuning/"},
		{"title", "getting to know the GARBAGE collector", "Getting to know", "https://example.com/gc-tuning/"},
		{"free text", "memory limit pauses", "", "https://example.com/gc-memory-limit/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := relDo(t, relPayload(2, relStr(tc.query), false))
			urls := relCheckAlsoRead(t, resp)
			desc := resp.Data.Embeds[0].Description
			if tc.named != "" && !strings.Contains(desc, "Related to: **"+tc.named) {
				t.Errorf("description does not name the article: %q", desc)
			}
			found := false
			for _, u := range urls {
				found = found || u == tc.want
				if tc.named != "" && u == self {
					t.Errorf("the article itself is listed: %q", desc)
				}
			}
			if !found {
				t.Errorf("links %v lack %s", urls, tc.want)
			}
		})
	}
	// No query: the newest article (7).
	resp := relDo(t, relPayload(2, nil, false))
	relCheckAlsoRead(t, resp)
	if d := resp.Data.Embeds[0].Description; !strings.Contains(d, "newest article: **Release notes for the new collector") || strings.Contains(d, "example.com/release/") {
		t.Errorf("newest article: %q", d)
	}
	// Markdown and mentions in titles are inert.
	resp = relDo(t, relPayload(2, relStr("memory limit"), false))
	d := resp.Data.Embeds[0].Description
	if !strings.Contains(d, `\*garbage\*`) || !strings.Contains(d, `\@everyone`) {
		t.Errorf("title not escaped: %q", d)
	}
	// Nothing matches: a friendly ephemeral message.
	resp = relDo(t, relPayload(2, relStr("xyzzy plugh"), false))
	if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || resp.Data.Flags&discordgo.MessageFlagsEphemeral == 0 ||
		!strings.Contains(resp.Data.Content, "xyzzy plugh") || len(resp.Data.Embeds) != 0 {
		t.Errorf("no match: %+v", resp.Data)
	}
	if am := resp.Data.AllowedMentions; am == nil || am.Parse == nil || len(am.Parse) != 0 {
		t.Errorf("no-match allowed mentions %+v", am)
	}
}

func TestRelatedEmptyIndex(t *testing.T) {
	r := &relRecorder{}
	cmd := commands.NewRelated(related.New(), r)
	var i discordgo.InteractionCreate
	if err := json.Unmarshal([]byte(relPayload(2, nil, false)), &i); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Handle(context.Background(), &i); err != nil {
		t.Fatal(err)
	}
	if len(r.resps) != 1 || r.resps[0].Data.Flags&discordgo.MessageFlagsEphemeral == 0 || r.resps[0].Data.Content == "" {
		t.Errorf("empty index: %+v", r.resps)
	}
}

func TestRelatedLimits(t *testing.T) {
	ix := related.New()
	long := strings.Repeat("[Long](title) *with* markdown_and_words ", 30)
	for i := 1; i <= 8; i++ {
		ix.Add(articles.Article{ID: int64(i), URL: fmt.Sprintf("https://example.com/%d/%s", i, strings.Repeat("p", 900)),
			Title: fmt.Sprintf("%d %s", i, long), Text: "shared words about compilers and linkers", Published: time.Unix(int64(1e9+i), 0)})
	}
	r := &relRecorder{}
	cmd := commands.NewRelated(ix, r)
	var i discordgo.InteractionCreate
	if err := json.Unmarshal([]byte(relPayload(2, relStr("compilers linkers"), false)), &i); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Handle(context.Background(), &i); err != nil {
		t.Fatal(err)
	}
	urls := relCheckAlsoRead(t, r.resps[0])
	if len(urls) > 5 {
		t.Errorf("%d links", len(urls))
	}
	var ac discordgo.InteractionCreate
	if err := json.Unmarshal([]byte(relPayload(4, relStr("1 [long"), true)), &ac); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Autocomplete(context.Background(), &ac); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.resps[1].Data.Choices {
		if n := utf8.RuneCountInString(c.Name); n == 0 || n > 100 {
			t.Errorf("choice name %d runes", n)
		}
		if v, _ := c.Value.(string); utf8.RuneCountInString(v) > 100 || v == "" {
			t.Errorf("choice value %q", v)
		}
	}
}

func TestRelatedAutocomplete(t *testing.T) {
	resp := relDo(t, relPayload(4, relStr("CAFÉ ü"), true))
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || resp.Data == nil || len(resp.Data.Choices) != 1 {
		t.Fatalf("autocomplete: %+v", resp.Data)
	}
	c := resp.Data.Choices[0]
	if c.Name != "Café Über Alles: the Zürich meetup" {
		t.Errorf("choice %+v", c)
	}
	// The picked value answers for that very article.
	v, _ := c.Value.(string)
	resp = relDo(t, relPayload(2, relStr(v), false))
	if d := resp.Data; len(d.Embeds) != 1 || !strings.Contains(d.Embeds[0].Description, "Related to: **Café Über Alles") ||
		!strings.Contains(d.Embeds[0].Description, "example.com/meetup-recap/") {
		t.Errorf("picked value %q answered %+v", v, d)
	}
	// At most 25 choices.
	resp = relDo(t, relPayload(4, relStr(""), true))
	if n := len(resp.Data.Choices); n == 0 || n > 25 {
		t.Errorf("%d choices for empty input", n)
	}
}

// relE2E runs /related through the fake Discord over the real discordgo
// code path.
type relE2E struct {
	t   testing.TB
	srv *discordtest.Server
}

func newRelE2E(t testing.TB, opts ...discordtest.Option) *relE2E {
	t.Helper()
	return newRelE2EWith(t, func(r commands.Responder) commands.Command { return commands.NewRelated(relIndex(), r) }, opts...)
}

// newRelE2EWith is newRelE2E with the command that mk builds.
func newRelE2EWith(t testing.TB, mk func(commands.Responder) commands.Command, opts ...discordtest.Option) *relE2E {
	t.Helper()
	srv := discordtest.New(t, opts...)
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	s.Identify.Intents = discordgo.IntentsGuilds
	s.LogLevel = -1
	// No reconnects: set before Open, since discordgo reads it unlocked
	// from its gateway goroutines.
	s.ShouldReconnectOnError = false
	cmd := mk(s)
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
		var err error
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			err = cmd.Handle(context.Background(), i)
		case discordgo.InteractionApplicationCommandAutocomplete:
			err = cmd.Autocomplete(context.Background(), i)
		}
		if err != nil {
			t.Errorf("handler: %v", err)
		}
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	return &relE2E{t: t, srv: srv}
}

func (e *relE2E) interact(spec discordtest.InteractionSpec, opts ...discordtest.SpecOption) *discordtest.Response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	it, err := e.srv.Interact(ctx, spec, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.srv.WaitResponse(ctx, it.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func TestRelatedE2E(t *testing.T) {
	e := newRelE2E(t)
	related := func(q ...string) *discordtest.Response {
		if len(q) == 0 {
			return e.interact(discordtest.Command("related"))
		}
		return e.interact(discordtest.Command("related", discordtest.Opt("query", q[0])))
	}
	embed := func(name string, r *discordtest.Response) string {
		t.Helper()
		if r.Type != discordgo.InteractionResponseChannelMessageWithSource || r.Data == nil || len(r.Data.Embeds) != 1 || r.Ephemeral() {
			t.Fatalf("%s: %+v", name, r)
		}
		if r.Data.Embeds[0].Title != "Also Read" {
			t.Errorf("%s: title %q", name, r.Data.Embeds[0].Title)
		}
		return r.Data.Embeds[0].Description
	}
	byURL := embed("url", related("https://example.com/gc-intro/"))
	if !strings.Contains(byURL, "Related to: **Getting to know") || strings.Contains(byURL, "https://example.com/gc-intro") {
		t.Errorf("url: %q", byURL)
	}
	if v := embed("url variant", related("https://example.com/gc-intro/?utm_source=x")); v != byURL {
		t.Errorf("URL with utm_source and trailing slash answered differently:\n%q\n%q", v, byURL)
	}
	if v := embed("title", related("Getting to know the garbage collector")); v != byURL {
		t.Errorf("title answered differently:\n%q\n%q", v, byURL)
	}
	if v := embed("free text", related("generics type parameters")); !strings.Contains(v, "example.com/generics-intro/") {
		t.Errorf("free text: %q", v)
	}
	if v := embed("nothing", related()); !strings.Contains(v, "Release notes for the new collector") {
		t.Errorf("no query: %q", v)
	}
	if r := related("xyzzy plugh"); !r.Ephemeral() || !strings.Contains(r.Content(), "xyzzy plugh") {
		t.Errorf("no match: %+v", r.Data)
	}
	// Autocomplete with an accented, upper-case prefix, then the pick.
	ac := e.interact(discordtest.Autocomplete("related", discordtest.Focused("query", "ZÜRI")))
	if ac.Type != discordgo.InteractionApplicationCommandAutocompleteResult || ac.Data == nil || len(ac.Data.Choices) != 1 {
		t.Fatalf("autocomplete: %+v", ac)
	}
	pick, _ := ac.Data.Choices[0].Value.(string)
	if v := embed("picked", related(pick)); !strings.Contains(v, "Related to: **Café Über Alles") {
		t.Errorf("picked %q: %q", pick, v)
	}
	for _, ex := range e.srv.Interactions() {
		if ex.Response == nil || len(ex.Refused) != 0 {
			t.Errorf("interaction %s: response %v, refused %v", ex.Interaction.ID, ex.Response != nil, ex.Refused)
		}
	}
}

// relBurst sends n interactions from members users at once and returns the
// latency of each (dispatch to callback).
func relBurst(tb testing.TB, e *relE2E, n, users int) []time.Duration {
	queries := []string{"https://example.com/gc-intro/", "garbage pauses", "", "Type parameter constraints explained", "xyzzy"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spec := discordtest.Command("related", discordtest.Opt("query", queries[i%len(queries)]))
			if i%7 == 0 {
				spec = discordtest.Autocomplete("related", discordtest.Focused("query", "gar"))
			}
			uid := fmt.Sprintf("%d", 5000+i%users)
			start := time.Now()
			it, err := e.srv.Interact(ctx, spec, discordtest.FromUser(uid, "user"+uid))
			if err != nil {
				errs <- err
				return
			}
			if _, err := e.srv.WaitResponse(ctx, it.ID); err != nil {
				errs <- err
				return
			}
			lat[i] = time.Since(start)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return lat
}

// The fake's 3 s callback deadline is lifted: under -race on a loaded
// machine this asserts the protocol (each answered once, rightly), not the
// wall clock; BenchmarkRelatedBurst measures the latency.
func TestRelatedE2EBurst(t *testing.T) {
	e := newRelE2E(t, discordtest.WithInteractionDeadline(time.Minute))
	relBurst(t, e, 300, 50)
	exs := e.srv.Interactions()
	if len(exs) != 300 {
		t.Fatalf("%d interactions recorded, want 300", len(exs))
	}
	users := map[string]bool{}
	for _, ex := range exs {
		users[ex.Interaction.UserID] = true
		if ex.Response == nil || len(ex.Refused) != 0 {
			t.Errorf("interaction %s: answered %v, refused callbacks %d", ex.Interaction.ID, ex.Response != nil, len(ex.Refused))
			continue
		}
		switch ex.Interaction.Type {
		case discordgo.InteractionApplicationCommand:
			if ex.Response.Type != discordgo.InteractionResponseChannelMessageWithSource {
				t.Errorf("command answered with type %d", ex.Response.Type)
			}
		case discordgo.InteractionApplicationCommandAutocomplete:
			if ex.Response.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
				t.Errorf("autocomplete answered with type %d", ex.Response.Type)
			}
		}
	}
	if len(users) != 50 {
		t.Errorf("%d members, want 50", len(users))
	}
}

// BenchmarkRelatedBurst measures the latency of /related under a burst of
// 300 interactions from 50 members, from dispatch to callback, through the
// fake Discord (run without -race for meaningful figures).
func BenchmarkRelatedBurst(b *testing.B) {
	e := newRelE2E(b)
	var all []time.Duration
	for b.Loop() {
		all = append(all, relBurst(b, e, 300, 50)...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
}
