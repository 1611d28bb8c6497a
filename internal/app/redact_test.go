package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestLogsHideInteractionTokens(t *testing.T) {
	const token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OnNlY3JldHRva2Vu"
	var out syncBuffer
	log := slog.New(redactingHandler{slog.NewTextHandler(&out, nil)})
	netErr := &url.Error{Op: "Post", URL: "https://discord.com/api/v9/interactions/1234/" + token + "/callback", Err: errors.New("i/o timeout")}
	log.Warn("respond failed: "+netErr.Error(), "error", fmt.Errorf("router: %w", netErr),
		"url", "https://discord.com/api/v9/webhooks/200/"+token+"/messages/@original")
	log.With("edit", "/webhooks/200/"+token).Info("x", slog.Group("g", "e", netErr))
	got := out.String()
	if strings.Contains(got, token) {
		t.Fatalf("a token reached the log:\n%s", got)
	}
	if !strings.Contains(got, "/interactions/1234/[token]/callback") || !strings.Contains(got, "/webhooks/200/[token]/messages/@original") {
		t.Errorf("redaction lost the rest of the URL:\n%s", got)
	}
}
