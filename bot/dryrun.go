package bot

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"
)

// printSender prints posts instead of sending them (newsbot run --dry-run).
type printSender struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

// NewPrintSender returns a Sender that writes each message to w, readably,
// as it would appear in Discord (text as sent, escapes included). Recent
// finds nothing.
func NewPrintSender(w io.Writer) Sender { return &printSender{w: w} }

func (p *printSender) Send(ctx context.Context, channelID string, m *discordgo.MessageSend, nonce string) (string, error) {
	return p.SendRoute(ctx, "", channelID, m, nonce)
}

// routeSender is a Sender that can show which route a post belongs to (the
// dry run prints it).
type routeSender interface {
	SendRoute(ctx context.Context, route, channelID string, m *discordgo.MessageSend, nonce string) (string, error)
}

// SendRoute prints m as Send does, with the route that led it to channelID.
func (p *printSender) SendRoute(_ context.Context, route, channelID string, m *discordgo.MessageSend, _ string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	var b strings.Builder
	fmt.Fprintf(&b, "──── post %d (dry run) ─────────────────────────────\n", p.n)
	line(&b, "route", route)
	line(&b, "channel", channelID)
	line(&b, "content", m.Content)
	for _, e := range m.Embeds {
		line(&b, "title", e.Title)
		line(&b, "url", e.URL)
		line(&b, "description", e.Description)
		if e.Author != nil {
			line(&b, "author", e.Author.Name)
		}
		line(&b, "time", e.Timestamp)
		if e.Image != nil {
			line(&b, "image", e.Image.URL)
		}
		for _, f := range e.Fields {
			line(&b, f.Name, f.Value)
		}
		if e.Footer != nil {
			line(&b, "footer", e.Footer.Text)
		}
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(p.w, b.String()); err != nil {
		return "", fmt.Errorf("bot: print post: %w", err)
	}
	return "dry-run-" + strconv.Itoa(p.n), nil
}

// line writes "label: value" with continuation lines indented; empty values
// are left out.
func line(b *strings.Builder, label, value string) {
	if value == "" {
		return
	}
	const width = 13
	pad := strings.Repeat(" ", max(1, width-len(label)-1))
	b.WriteString(label + ":" + pad)
	b.WriteString(strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", max(width, len(label)+2))))
	b.WriteByte('\n')
}

func (p *printSender) Recent(context.Context, string, int) ([]*discordgo.Message, error) {
	return nil, nil
}
