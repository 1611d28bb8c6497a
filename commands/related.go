package commands

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles/related"

	"github.com/newsbot/newsbot/articles"
)

// RelatedIndex is what /related needs from the relatedness index;
// *related.Index satisfies it.
type RelatedIndex interface {
	// Query answers a URL, an "id:N", a title, free text, or "" (the
	// newest article), best first.
	Query(q string, n int) []related.Hit
	// Complete suggests titles for what was typed.
	Complete(prefix string, n int) []related.Suggestion
}

// relatedResolver is implemented by *related.Index: Query that also says
// which article the query named, for the "Related to" line.
type relatedResolver interface {
	Resolve(q string, n int) (hits []related.Hit, named related.Hit, ok bool)
}

var (
	_ RelatedIndex    = (*related.Index)(nil)
	_ relatedResolver = (*related.Index)(nil)
)

const (
	relatedMax         = 5   // links in an answer
	relatedQueryMaxLen = 300 // characters of the query option
	relatedTitleMax    = 200 // runes of a title in the list
	relatedDescMax     = 4096
)

// NewRelated returns /related over an index that is always current (tests,
// a fixed corpus): unknown links are answered with the no-match message.
func NewRelated(ix RelatedIndex, r Responder) Command {
	return NewRelatedWith(RelatedOptions{Index: ix, Responder: r})
}

// RelatedOptions configure /related.
type RelatedOptions struct {
	Index     RelatedIndex
	Responder Responder
	// Fresh brings the index up to date with the store before an answer
	// (nil: the index is taken as current).
	Fresh IndexFreshener
	// Links reads the pages of unknown links of the sites (nil: an unknown
	// link is answered with the no-match message).
	Links LinkReader
	Log   *slog.Logger
}

// NewRelatedWith returns /related: an "Also Read" list of up to five articles
// related to an article (URL or title), or matching free text; the newest
// article without a query. The index is in memory and answers at once; the
// interaction is deferred only when the index must first learn many stored
// changes or a page must be read.
func NewRelatedWith(o RelatedOptions) Command {
	h := &relatedHandler{ix: o.Index, r: o.Responder, fresh: o.Fresh, links: o.Links, log: o.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	dmAllowed := false
	return Command{
		Definition: &discordgo.ApplicationCommand{
			Name:         "related",
			Description:  "Find articles related to a story, a title or a topic",
			Contexts:     &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
			DMPermission: &dmAllowed,
			Options: []*discordgo.ApplicationCommandOption{{
				Type:         discordgo.ApplicationCommandOptionString,
				Name:         "query",
				Description:  "An article title or link, or a few words; empty: the newest article",
				Required:     false,
				Autocomplete: true,
				MaxLength:    relatedQueryMaxLen,
			}},
		},
		Handle:       h.handle,
		Autocomplete: h.autocomplete,
	}
}

type relatedHandler struct {
	ix    RelatedIndex
	r     Responder
	fresh IndexFreshener
	links LinkReader
	log   *slog.Logger
}

// relQueryOption returns the value of the "query" option ("" when absent) and
// whether it is focused.
func relQueryOption(i *discordgo.InteractionCreate) (string, bool) {
	if i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionApplicationCommandAutocomplete {
		return "", false
	}
	for _, o := range i.ApplicationCommandData().Options {
		if o.Name == "query" {
			if s, ok := o.Value.(string); ok {
				return s, o.Focused
			}
			return fmt.Sprint(o.Value), o.Focused
		}
	}
	return "", false
}

func (h *relatedHandler) handle(ctx context.Context, i *discordgo.InteractionCreate) error {
	q, _ := relQueryOption(i)
	q = strings.TrimSpace(q)
	ans := &relAnswer{r: h.r, i: i.Interaction}
	if err := h.freshen(ctx, ans); err != nil {
		return err
	}
	hits, named, isNamed := h.resolve(q)
	if link, ok := related.LinkQuery(q); ok && !isNamed {
		// A link that names no stored article: never searched by its
		// slug (a word-less one would get junk).
		return h.unknownLink(ctx, ans, q, link)
	}
	return ans.send(ctx, relResponse(q, hits, isNamed, named))
}

func (h *relatedHandler) resolve(q string) ([]related.Hit, related.Hit, bool) {
	if res, ok := h.ix.(relatedResolver); ok {
		return res.Resolve(q, relatedMax)
	}
	return h.ix.Query(q, relatedMax), related.Hit{}, false
}

func relResponse(q string, hits []related.Hit, isNamed bool, named related.Hit) *discordgo.InteractionResponse {
	if len(hits) == 0 {
		return Ephemeral(relNoMatch(q, isNamed, named))
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Embeds:          []*discordgo.MessageEmbed{relEmbed(q, hits, isNamed, named)},
			AllowedMentions: NoMentions(),
		},
	}
}

func relNoMatch(q string, isNamed bool, named related.Hit) string {
	switch {
	case isNamed:
		return fmt.Sprintf("I found no article related enough to %s yet.", relName(named))
	case q == "":
		return "There are no articles to choose from yet. Try again once the first ones have arrived."
	default:
		return fmt.Sprintf("Nothing in the archive matches “%s”. Try other words, an article title or its link.",
			EscapeMarkdown(articles.Excerpt(q, 100)))
	}
}

// relEmbed builds the "Also Read" embed within Discord's limits.
func relEmbed(q string, hits []related.Hit, isNamed bool, named related.Hit) *discordgo.MessageEmbed {
	var head string
	switch {
	case isNamed && q == "":
		head = "Related to the newest article: " + relName(named)
	case isNamed:
		head = "Related to: " + relName(named)
	default:
		head = "Matching “" + EscapeMarkdown(articles.Excerpt(q, 100)) + "”"
	}
	var b strings.Builder
	b.WriteString(articles.Excerpt(head, 1000))
	b.WriteString("\n")
	for n, h := range hits {
		line := fmt.Sprintf("\n%d. %s", n+1, relLink(h))
		if !h.Published.IsZero() {
			line += fmt.Sprintf(" · <t:%d:D>", h.Published.Unix())
		}
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line) > relatedDescMax {
			break
		}
		b.WriteString(line)
	}
	return &discordgo.MessageEmbed{
		Title:       "Also Read",
		Description: b.String(),
	}
}

// relLink writes [title](url) with the title shown literally; an
// article without a usable URL is its title alone.
// relName names the article a query pointed at, without its link: the
// answer never links the article itself.
func relName(h related.Hit) string {
	title := strings.Join(strings.Fields(h.Title), " ")
	if title == "" {
		title = "(untitled)"
	}
	return "**" + EscapeMarkdown(articles.Excerpt(title, relatedTitleMax)) + "**"
}

func relLink(h related.Hit) string {
	title := strings.Join(strings.Fields(h.Title), " ")
	if title == "" {
		title = "(untitled)"
	}
	title = EscapeMarkdown(articles.Excerpt(title, relatedTitleMax))
	u := relURL(h.URL)
	if u == "" {
		return "**" + title + "**"
	}
	return "[" + title + "](" + u + ")"
}

// relURL returns an http(s) URL safe inside Markdown link parentheses,
// or "".
func relURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	s := u.String()
	if len(s) > 1000 {
		return ""
	}
	r := strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E")
	return r.Replace(s)
}

func (h *relatedHandler) autocomplete(ctx context.Context, i *discordgo.InteractionCreate) error {
	typed, _ := relQueryOption(i)
	h.freshenQuick(ctx)
	sugg := h.ix.Complete(typed, 25)
	choices := make([]*discordgo.ApplicationCommandOptionChoice, 0, len(sugg))
	for _, s := range sugg {
		name, value := articles.Excerpt(s.Name, 100), s.Value
		if name == "" || value == "" || utf8.RuneCountInString(value) > 100 {
			continue
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: value})
	}
	resp := &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	}
	if err := h.r.InteractionRespond(i.Interaction, resp, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("related: autocomplete: %w", err)
	}
	return nil
}
