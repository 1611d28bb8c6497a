package app

import (
	"context"
	"log/slog"
	"regexp"
)

// interactionTokenRE finds the secret part of interaction and webhook URLs:
// /interactions/{id}/{token}/callback and /webhooks/{app}/{token}. A network
// error from discordgo quotes the whole URL, and a token lets anyone answer
// as the bot for 15 minutes.
var interactionTokenRE = regexp.MustCompile(`(/(?:interactions|webhooks)/[0-9]+/)[^/\s"'?]+`)

// redact hides interaction and webhook tokens in s.
func redact(s string) string {
	return interactionTokenRE.ReplaceAllString(s, "${1}[token]")
}

// redactingHandler is a slog.Handler that hides tokens in every message and
// attribute before its inner handler writes them.
type redactingHandler struct{ inner slog.Handler }

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactingHandler{h.inner.WithAttrs(red)}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{h.inner.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, redact(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, redact(s.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
