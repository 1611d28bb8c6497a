package app

import (
	"strings"
	"testing"

	"github.com/newsbot/newsbot/internal/discordtest"
)

func TestCheckInteractionsEndpoint(t *testing.T) {
	otherKey := strings.Repeat("ab", 32)
	cases := []struct {
		name     string
		endpoint string // what the application reports ("" none)
		addr     string // INTERACTIONS_ADDR
		key      string // "" the fake's
		want     string // in the output; "" means all green
	}{
		{"neither", "", "", "", ""},
		{"https endpoint served", "https://bot.example.com/interactions", "127.0.0.1:8443", "", ""},
		{"http endpoint on the port", "http://127.0.0.1:8443/interactions/", "127.0.0.1:8443", "", ""},
		{"endpoint but no address", "https://bot.example.com/interactions", "", "", "✗ the application's Interactions Endpoint URL is https://bot.example.com/interactions, so Discord sends every interaction there and none over the gateway, but INTERACTIONS_ADDR is not set"},
		{"address but no endpoint", "", ":8443", "", "✗ INTERACTIONS_ADDR is set but the application has no Interactions Endpoint URL"},
		{"wrong path", "https://bot.example.com/discord", ":8443", "", `its path is "/discord", and newsbot serves /interactions`},
		{"wrong port", "http://127.0.0.1:9000/interactions", "127.0.0.1:8443", "", "plain http on port 9000, and INTERACTIONS_ADDR listens on port 8443"},
		{"wrong key", "https://bot.example.com/interactions", ":8443", otherKey, "✗ DISCORD_PUBLIC_KEY is not this application's public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := discordtest.New(t)
			fake.SetApplicationEndpointURL(tc.endpoint)
			env := checkEnv(t, fake)
			if tc.addr != "" {
				env["INTERACTIONS_ADDR"] = tc.addr
				env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
				if tc.key != "" {
					env["DISCORD_PUBLIC_KEY"] = tc.key
				}
			}
			code, out := runCheck(t, env)
			if tc.want == "" {
				if code != 0 || strings.Contains(out, "✗") || !strings.Contains(out, "✓ interactions come over") {
					t.Fatalf("exit %d:\n%s", code, out)
				}
				return
			}
			if code == 0 || !strings.Contains(out, tc.want) || strings.Count(out, "✗") != 1 {
				t.Fatalf("exit %d, want one failure %q:\n%s", code, tc.want, out)
			}
		})
	}
}
