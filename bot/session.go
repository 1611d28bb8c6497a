package bot

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/newsbot/newsbot/internal/discordapi"
)

// DefaultAPIURL is Discord's REST base for the API version discordgo v0.29.0 speaks.
const DefaultAPIURL = "https://discord.com/api/v9/"

// restTimeout bounds every REST call (discordgo's default is 20 s, longer
// than the 10 s the bot has to shut down).
const restTimeout = 10 * time.Second

var apiBaseMu sync.Mutex

// SetAPIBase points every discordgo endpoint string at apiURL (DISCORD_API_URL;
// "" means Discord itself). discordgo computes these strings once at init
// from EndpointDiscord, so each must be reassigned; the Endpoint...(id)
// functions read them at call time. It derives them exactly as endpoints.go
// does, is idempotent, and must run before any request: the variables are
// globals, so tests that call it cannot run in parallel. Pointing at the
// base they already point at writes nothing, so that a session opened
// later (a standby taking over) does not race requests in flight.
func SetAPIBase(apiURL string) {
	base := NormalizeAPIURL(apiURL)

	apiBaseMu.Lock()
	defer apiBaseMu.Unlock()
	if discordgo.EndpointAPI == base {
		return
	}
	discordapi.PointAt(base)
}

// NormalizeAPIURL returns apiURL with exactly one trailing slash, or
// DefaultAPIURL when it is empty.
func NormalizeAPIURL(apiURL string) string {
	apiURL = strings.TrimRight(strings.TrimSpace(apiURL), "/")
	if apiURL == "" {
		return DefaultAPIURL
	}
	return apiURL + "/"
}

// BotToken returns the Authorization value for a bot token as the developer
// portal shows it; a value that already starts with "Bot " is kept.
func BotToken(token string) string {
	token = strings.TrimSpace(token)
	if strings.HasPrefix(token, "Bot ") {
		return token
	}
	return "Bot " + token
}

// NewSession returns a discordgo session for a bot token: only the Guilds
// intent (nothing privileged), state on, a 10 s REST timeout, reconnects on
// gateway errors, and discordgo's own logging limited to errors (its debug
// output would include the IDENTIFY payload, token and all). Rate-limited
// calls are retried by discordgo (ShouldRetryOnRateLimit); sends the bot
// tracks itself opt out per request (see discord.md).
func NewSession(token string) (*discordgo.Session, error) {
	s, err := discordgo.New(BotToken(token))
	if err != nil {
		return nil, err
	}
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = true
	s.ShouldReconnectOnError = true
	s.ShouldRetryOnRateLimit = true
	s.LogLevel = discordgo.LogError
	s.Client = &http.Client{
		Timeout:   restTimeout,
		Transport: countingTransport{next: newTransport()},
	}
	d := *websocket.DefaultDialer
	d.HandshakeTimeout = restTimeout
	s.Dialer = &d
	return s, nil
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = restTimeout
	return t
}

// closeIdle drops the session's idle keep-alive connections (and so their
// goroutines) once the bot is done.
func closeIdle(s *discordgo.Session) {
	if s.Client == nil {
		return
	}
	if ct, ok := s.Client.Transport.(countingTransport); ok {
		if t, ok := ct.next.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		return
	}
	s.Client.CloseIdleConnections()
}

// connTracker hands the gateway dialer its network connections and remembers
// the live ones and the dials in progress, so that a READY timeout or a
// shutdown can unblock discordgo's Open (which dials, then reads HELLO and
// READY with no deadline, while holding the session lock).
type connTracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	dials  map[int]context.CancelFunc
	nextID int
}

func (ct *connTracker) install(s *discordgo.Session) {
	d := websocket.DefaultDialer
	if s.Dialer != nil {
		d = s.Dialer
	}
	nd := *d
	var dialer net.Dialer
	nd.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ct.mu.Lock()
		if ct.dials == nil {
			ct.dials = map[int]context.CancelFunc{}
			ct.conns = map[net.Conn]struct{}{}
		}
		id := ct.nextID
		ct.nextID++
		ct.dials[id] = cancel
		ct.mu.Unlock()

		c, err := dialer.DialContext(ctx, network, addr)

		ct.mu.Lock()
		defer ct.mu.Unlock()
		delete(ct.dials, id)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, ct: ct}
		ct.conns[tc] = struct{}{}
		return tc, nil
	}
	s.Dialer = &nd
}

// abort cancels the dials in progress and closes every live gateway
// connection; later dials proceed as usual.
func (ct *connTracker) abort() {
	ct.mu.Lock()
	conns := make([]net.Conn, 0, len(ct.conns))
	for c := range ct.conns {
		conns = append(conns, c)
	}
	for _, cancel := range ct.dials {
		cancel()
	}
	ct.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	ct   *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.ct.mu.Lock()
		delete(c.ct.conns, c)
		c.ct.mu.Unlock()
	})
	return c.Conn.Close()
}
