package bot

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bwmarrin/discordgo"
	dto "github.com/prometheus/client_model/go"
)

// restoreEndpoints puts discordgo's endpoints back to Discord's after a test
// that moved them (they are globals: no t.Parallel here).
func restoreEndpoints(t *testing.T) {
	t.Cleanup(func() { SetAPIBase("") })
}

func TestSetAPIBase(t *testing.T) {
	restoreEndpoints(t)
	for _, in := range []string{"http://127.0.0.1:9/api/v9", "http://127.0.0.1:9/api/v9/", "http://127.0.0.1:9/api/v9///", " http://127.0.0.1:9/api/v9 "} {
		SetAPIBase(in)
		checks := map[string]string{
			"EndpointAPI":                discordgo.EndpointAPI,
			"EndpointDiscord":            discordgo.EndpointDiscord,
			"EndpointGateway":            discordgo.EndpointGateway,
			"EndpointGatewayBot":         discordgo.EndpointGatewayBot,
			"EndpointChannelMessages":    discordgo.EndpointChannelMessages("400"),
			"EndpointApplicationCommand": discordgo.EndpointApplicationGuildCommands("200", "300"),
			"EndpointInteraction":        discordgo.EndpointInteractionResponse("1", "tok"),
			"EndpointWebhookMessage":     discordgo.EndpointInteractionResponseActions("200", "tok"),
			"EndpointUserChannels":       discordgo.EndpointUserChannels("@me"),
			"EndpointGuildMember":        discordgo.EndpointGuildMember("300", "100"),
			"EndpointOAuth2":             discordgo.EndpointOAuth2Applications,
		}
		want := map[string]string{
			"EndpointAPI":                "http://127.0.0.1:9/api/v9/",
			"EndpointDiscord":            "http://127.0.0.1:9/",
			"EndpointGateway":            "http://127.0.0.1:9/api/v9/gateway",
			"EndpointGatewayBot":         "http://127.0.0.1:9/api/v9/gateway/bot",
			"EndpointChannelMessages":    "http://127.0.0.1:9/api/v9/channels/400/messages",
			"EndpointApplicationCommand": "http://127.0.0.1:9/api/v9/applications/200/guilds/300/commands",
			"EndpointInteraction":        "http://127.0.0.1:9/api/v9/interactions/1/tok/callback",
			"EndpointWebhookMessage":     "http://127.0.0.1:9/api/v9/webhooks/200/tok/messages/@original",
			"EndpointUserChannels":       "http://127.0.0.1:9/api/v9/users/@me/channels",
			"EndpointGuildMember":        "http://127.0.0.1:9/api/v9/guilds/300/members/100",
			"EndpointOAuth2":             "http://127.0.0.1:9/api/v9/oauth2/applications",
		}
		for k, got := range checks {
			if got != want[k] {
				t.Errorf("SetAPIBase(%q): %s = %q, want %q", in, k, got, want[k])
			}
		}
	}
	SetAPIBase("")
	if discordgo.EndpointAPI != "https://discord.com/api/v9/" || discordgo.EndpointChannels != "https://discord.com/api/v9/channels/" ||
		discordgo.EndpointDiscord != "https://discord.com/" {
		t.Errorf("default base not restored: %s %s", discordgo.EndpointAPI, discordgo.EndpointChannels)
	}
}

func TestBotToken(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       "Bot abc",
		"Bot abc":   "Bot abc",
		" abc\n":    "Bot abc",
		"Bot  abc ": "Bot  abc",
	} {
		if got := BotToken(in); got != want {
			t.Errorf("BotToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewSession(t *testing.T) {
	s, err := NewSession("secret")
	if err != nil {
		t.Fatal(err)
	}
	if s.Token != "Bot secret" || s.Identify.Token != "Bot secret" {
		t.Errorf("token not prefixed")
	}
	if s.Identify.Intents != discordgo.IntentsGuilds {
		t.Errorf("intents = %d, want Guilds only", s.Identify.Intents)
	}
	if s.Client.Timeout != restTimeout || !s.ShouldReconnectOnError || !s.StateEnabled || s.LogLevel > discordgo.LogError {
		t.Errorf("session settings: timeout %v reconnect %v state %v log %d", s.Client.Timeout, s.ShouldReconnectOnError, s.StateEnabled, s.LogLevel)
	}
}

func TestSameCommands(t *testing.T) {
	minLen := 1
	def := func() *discordgo.ApplicationCommand {
		return &discordgo.ApplicationCommand{
			Name: "related", Description: "Find related stories.",
			Contexts: &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "query", Description: "Topic, title or URL",
				Autocomplete: true, MinLength: &minLen, MaxLength: 200,
			}, {
				Type: discordgo.ApplicationCommandOptionInteger, Name: "count", Description: "How many",
				Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "three", Value: 3}},
			}},
		}
	}
	// What Discord answers: ids, versions, type 1, numbers as float64,
	// extra contexts order, application id.
	registered := func() *discordgo.ApplicationCommand {
		c := def()
		c.ID, c.ApplicationID, c.Version, c.Type = "9001", "200", "1", discordgo.ChatApplicationCommand
		c.Options[1].Choices[0].Value = float64(3)
		return c
	}
	same := func(want, have []*discordgo.ApplicationCommand) bool { return SameCommands(want, have) }
	if !same([]*discordgo.ApplicationCommand{def()}, []*discordgo.ApplicationCommand{registered()}) {
		t.Error("identical definitions reported different")
	}
	changes := map[string]func(c *discordgo.ApplicationCommand){
		"description":        func(c *discordgo.ApplicationCommand) { c.Description = "Other." },
		"option description": func(c *discordgo.ApplicationCommand) { c.Options[0].Description = "x" },
		"option required":    func(c *discordgo.ApplicationCommand) { c.Options[0].Required = true },
		"option removed":     func(c *discordgo.ApplicationCommand) { c.Options = c.Options[:1] },
		"max length":         func(c *discordgo.ApplicationCommand) { c.Options[0].MaxLength = 100 },
		"choice value":       func(c *discordgo.ApplicationCommand) { c.Options[1].Choices[0].Value = 4 },
		"contexts":           func(c *discordgo.ApplicationCommand) { c.Contexts = &[]discordgo.InteractionContextType{0, 1} },
		"type":               func(c *discordgo.ApplicationCommand) { c.Type = discordgo.UserApplicationCommand },
	}
	for name, change := range changes {
		w := def()
		change(w)
		if same([]*discordgo.ApplicationCommand{w}, []*discordgo.ApplicationCommand{registered()}) {
			t.Errorf("change of %s not detected", name)
		}
	}
	other := registered()
	other.Name = "ask"
	if same([]*discordgo.ApplicationCommand{def()}, []*discordgo.ApplicationCommand{registered(), other}) {
		t.Error("an extra registered command not detected")
	}
	if same([]*discordgo.ApplicationCommand{def()}, nil) {
		t.Error("nothing registered reported same")
	}
	if !same(nil, nil) {
		t.Error("no commands at all reported different")
	}
	// Either order; a side without contexts (plain definitions) skips them.
	plain := def()
	plain.Contexts = nil
	if !same([]*discordgo.ApplicationCommand{registered()}, []*discordgo.ApplicationCommand{plain}) ||
		!same([]*discordgo.ApplicationCommand{plain}, []*discordgo.ApplicationCommand{registered()}) {
		t.Error("definitions without contexts differ from the registered ones")
	}
	noCtx := registered()
	noCtx.Contexts = nil
	if contextsSet([]*discordgo.ApplicationCommand{def()}, []*discordgo.ApplicationCommand{noCtx}) {
		t.Error("registered without contexts, wanted with: not detected")
	}
}

func TestCountingTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: countingTransport{next: newTransport()}}
	read := func(status string) float64 {
		var m dto.Metric
		if err := restRequests.WithLabelValues("GET", status).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	for path, status := range map[string]string{"/ok": "2xx", "/429": "429", "/503": "5xx"} {
		before := read(status)
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := read(status); got != before+1 {
			t.Errorf("%s: counter %s = %v, want %v", path, status, got, before+1)
		}
	}
	before := read("error")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := c.Get("http://" + addr + "/"); err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	if got := read("error"); got != before+1 {
		t.Errorf("transport errors counted %v, want %v", got, before+1)
	}
}
