package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

// appEndpoint is what GET /applications/@me says about interactions
// (discordgo's Application has neither field).
type appEndpoint struct {
	InteractionsEndpointURL *string `json:"interactions_endpoint_url"`
	VerifyKey               string  `json:"verify_key"`
}

const portalWhere = "the developer portal (your application > General Information > Interactions Endpoint URL)"

// checkInteractions compares the application's Interactions Endpoint URL
// with INTERACTIONS_ADDR: Discord sends interactions over HTTP when the URL
// is set, and then never over the gateway.
func (c *checklist) checkInteractions(ctx context.Context, s *discordgo.Session, cfg config.Config) {
	body, err := s.RequestWithBucketID("GET", discordgo.EndpointApplication("@me"), nil, discordgo.EndpointApplication(""), discordgo.WithContext(ctx))
	if err != nil {
		c.bad("cannot read the application's interactions endpoint: "+describeRESTError(err, cfg), "check DISCORD_TOKEN")
		return
	}
	var app appEndpoint
	if err := json.Unmarshal(body, &app); err != nil {
		c.bad("cannot read the application's interactions endpoint: "+err.Error(), "try again; if it persists, check DISCORD_API_URL")
		return
	}
	endpoint := ""
	if app.InteractionsEndpointURL != nil {
		endpoint = strings.TrimSpace(*app.InteractionsEndpointURL)
	}
	switch {
	case endpoint == "" && cfg.InteractionsAddr == "":
		c.ok("interactions come over the gateway (no Interactions Endpoint URL, no INTERACTIONS_ADDR)")
		return
	case endpoint != "" && cfg.InteractionsAddr == "":
		c.bad(fmt.Sprintf("the application's Interactions Endpoint URL is %s, so Discord sends every interaction there and none over the gateway, but INTERACTIONS_ADDR is not set", endpoint),
			"set INTERACTIONS_ADDR (and DISCORD_PUBLIC_KEY) to serve that URL (HTTPS in front, path "+bot.InteractionsPath+"), or clear the URL in "+portalWhere)
		return
	case endpoint == "":
		c.bad("INTERACTIONS_ADDR is set but the application has no Interactions Endpoint URL, so Discord sends interactions over the gateway, not to INTERACTIONS_ADDR",
			"set the URL in "+portalWhere+" to https://YOUR-HOST"+bot.InteractionsPath+" (HTTPS in front of INTERACTIONS_ADDR "+cfg.InteractionsAddr+"), or unset INTERACTIONS_ADDR")
		return
	}
	if problem := endpointMismatch(endpoint, cfg.InteractionsAddr); problem != "" {
		c.bad(fmt.Sprintf("the Interactions Endpoint URL %s does not reach INTERACTIONS_ADDR %s: %s", endpoint, cfg.InteractionsAddr, problem),
			"make the URL https://YOUR-HOST"+bot.InteractionsPath+" in "+portalWhere+", forwarded to INTERACTIONS_ADDR")
		return
	}
	if key, err := hex.DecodeString(app.VerifyKey); err == nil && len(key) > 0 && !bytes.Equal(key, cfg.PublicKey) {
		c.bad("DISCORD_PUBLIC_KEY is not this application's public key: every interaction would be refused (401)",
			"copy the Public Key from the developer portal (General Information) into DISCORD_PUBLIC_KEY")
		return
	}
	c.ok("interactions come over HTTP: %s is served at INTERACTIONS_ADDR %s", endpoint, cfg.InteractionsAddr)
}

// endpointMismatch says why url cannot be INTERACTIONS_ADDR's endpoint, or
// "". The path must be /interactions; an http URL (nothing in front) must
// name the address's port; an https one ends at a proxy whose port says
// nothing about ours.
func endpointMismatch(raw, addr string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "it is not an http(s) URL"
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != bot.InteractionsPath {
		return fmt.Sprintf("its path is %q, and newsbot serves %s", u.Path, bot.InteractionsPath)
	}
	if u.Scheme == "https" {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	want := u.Port()
	if want == "" {
		want = "80"
	}
	if want != port {
		return fmt.Sprintf("it is plain http on port %s, and INTERACTIONS_ADDR listens on port %s (put HTTPS in front)", want, port)
	}
	return ""
}
