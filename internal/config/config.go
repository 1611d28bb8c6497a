// Package config reads newsbot's configuration from the environment (and a
// .env file, whose values the real environment overrides) and validates it.
// Every error names the variable and says what is wrong in one line; the
// token's value never appears in one.
package config

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/robfig/cron/v3"
)

// Defaults.
const (
	DefaultSchedule      = "*/10 * * * *"
	DefaultDatabase      = "newsbot.db"
	DefaultBacklogLimit  = 3
	DefaultAPIURL        = "https://discord.com/api/v9"
	DefaultBackfillLimit = 5000
	DefaultBackfillRate  = 2.0
	DefaultAskLimit      = "3/10m"
)

// Config is newsbot's whole configuration.
type Config struct {
	Token         string // without the "Bot " prefix
	NewsChannelID string
	TeamChannelID string
	FeedURLs      []string // http(s) URLs or local file paths
	Schedule      string
	DatabasePath  string // a path or a file: URI, for SQLite ("" with DatabaseURL)
	DatabaseURL   string // postgres:// or postgresql://: the PostgreSQL store (may hold a password)
	DatabaseSet   bool   // DATABASE_URL was given (dry runs otherwise keep state in memory)
	BacklogLimit  int
	GuildID       string
	NewsRoleID    string
	APIURL        string // REST base, ending in exactly one "/"
	HTTPAddr      string
	BackfillLimit int
	BackfillRate  float64
	FullText      bool // FULL_TEXT=auto
	AskLimit      int  // questions per AskPeriod per member
	AskPeriod     time.Duration
	LogLevel      slog.Level
	// RoutesFile is ROUTES_FILE, "" without it. Routes always holds at least
	// one route once channels or feeds are needed: without ROUTES_FILE the
	// implicit route NewsRoute made of FEED_URLS, NEWS_CHANNEL_ID and
	// NEWS_ROLE_ID (then FeedURLs and NewsChannelID are set too); with it,
	// FeedURLs is every route's feeds and NewsChannelID is "".
	RoutesFile string
	Routes     []Route
	// Interactions over HTTP (config_interactions.go): the address needs the key.
	InteractionsAddr string            // INTERACTIONS_ADDR
	PublicKey        ed25519.PublicKey // DISCORD_PUBLIC_KEY
}

// Need says which variables a verb requires.
type Need struct {
	Token    bool // DISCORD_TOKEN
	Channels bool // NEWS_CHANNEL_ID, TEAM_CHANNEL_ID
	Feeds    bool // FEED_URLS
	HTTPAddr bool // HTTP_ADDR
}

// Getenv looks a variable up; ok is false when it is unset.
type Getenv func(name string) (value string, ok bool)

// Environ returns a Getenv over the process environment and the .env file
// in dir (if there is one); real environment variables win. A .env file that
// cannot be parsed is an error.
func Environ(dir string) (Getenv, error) {
	path := ".env"
	if dir != "" {
		path = dir + string(os.PathSeparator) + ".env"
	}
	file, err := godotenv.Read(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			file = map[string]string{}
		} else {
			return nil, fmt.Errorf("config: .env: cannot be read: %s", redactParseError(err))
		}
	}
	return func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

// redactParseError keeps godotenv's message short and free of values.
func redactParseError(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 80 {
		msg = msg[:80] + "..."
	}
	return msg
}

// MapEnv is a Getenv over a map (tests).
func MapEnv(m map[string]string) Getenv {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// Load reads and validates the configuration. An empty value counts as unset.
func Load(get Getenv, need Need) (Config, error) {
	l := loader{get: get}
	c := Config{}
	c.Token = l.token("DISCORD_TOKEN", need.Token)
	c.RoutesFile = l.value("ROUTES_FILE", false)
	withRoutes := c.RoutesFile != ""
	if withRoutes {
		for _, name := range []string{"FEED_URLS", "NEWS_CHANNEL_ID", "NEWS_ROLE_ID"} {
			if l.value(name, false) != "" {
				l.fail("ROUTES_FILE", "is set, so %s must be unset: the routes file lists the feeds, channels and roles (move %s into it or unset ROUTES_FILE)", name, name)
			}
		}
	}
	c.NewsChannelID = l.snowflake("NEWS_CHANNEL_ID", need.Channels && !withRoutes)
	c.TeamChannelID = l.snowflake("TEAM_CHANNEL_ID", need.Channels)
	c.FeedURLs = l.feeds("FEED_URLS", need.Feeds && !withRoutes)
	c.Schedule = l.schedule("POST_SCHEDULE")
	c.DatabasePath, c.DatabaseURL = l.database("DATABASE_URL")
	c.DatabaseSet = l.value("DATABASE_URL", false) != ""
	c.BacklogLimit = l.count("BACKLOG_LIMIT", DefaultBacklogLimit)
	c.GuildID = l.snowflake("DISCORD_GUILD_ID", false)
	c.NewsRoleID = l.snowflake("NEWS_ROLE_ID", false)
	c.APIURL = l.apiURL("DISCORD_API_URL")
	c.HTTPAddr = l.addr("HTTP_ADDR", need.HTTPAddr)
	c.BackfillLimit = l.count("BACKFILL_LIMIT", DefaultBackfillLimit)
	c.BackfillRate = l.rate("BACKFILL_RATE", DefaultBackfillRate)
	c.FullText = l.fullText("FULL_TEXT")
	c.AskLimit, c.AskPeriod = l.askLimit("ASK_LIMIT")
	c.LogLevel = l.logLevel("LOG_LEVEL")
	c.InteractionsAddr, c.PublicKey = l.interactions("INTERACTIONS_ADDR", "DISCORD_PUBLIC_KEY")
	if c.NewsChannelID != "" && c.NewsChannelID == c.TeamChannelID && l.err == nil {
		l.fail("TEAM_CHANNEL_ID", "is the same channel as NEWS_CHANNEL_ID; questions belong in a private team channel")
	}
	if l.err != nil {
		return c, l.err
	}
	if withRoutes {
		routes, err := LoadRoutes(c.RoutesFile, c.TeamChannelID)
		if err != nil {
			return c, err
		}
		c.Routes, c.FeedURLs = routes, RouteFeeds(routes)
	} else if c.NewsChannelID != "" || len(c.FeedURLs) > 0 {
		c.Routes = []Route{implicitRoute(c)}
	}
	return c, nil
}

type loader struct {
	get Getenv
	err error
}

func (l *loader) fail(name, format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("config: %s %s", name, fmt.Sprintf(format, args...))
	}
}

// value returns the trimmed value, or "" when unset or empty (failing when
// required).
func (l *loader) value(name string, required bool) string {
	v, _ := l.get(name)
	v = strings.TrimSpace(v)
	if v == "" && required {
		l.fail(name, "is not set (see .env.example)")
	}
	return v
}

// quote shows a value in an error, shortened.
func quote(v string) string {
	r := []rune(v)
	if len(r) > 60 {
		v = string(r[:60]) + "..."
	}
	return strconv.Quote(v)
}

func (l *loader) token(name string, required bool) string {
	v := l.value(name, required)
	if v == "" {
		return ""
	}
	if len(v) >= 4 && strings.EqualFold(v[:4], "Bot ") {
		v = strings.TrimSpace(v[4:])
	} else if strings.EqualFold(v, "Bot") {
		v = ""
	}
	if v == "" || strings.ContainsAny(v, " \t\r\n\"'") {
		l.fail(name, "is malformed: paste the token exactly as the developer portal shows it (value not shown)")
		return ""
	}
	return v
}

var digits = regexp.MustCompile(`^[0-9]{1,20}$`)

func (l *loader) snowflake(name string, required bool) string {
	v := l.value(name, required)
	if v == "" {
		return ""
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if !digits.MatchString(v) || err != nil || n == 0 {
		l.fail(name, "is %s, not a Discord id (a snowflake: digits only; copy it with Developer Mode on)", quote(v))
		return ""
	}
	return v
}

func (l *loader) feeds(name string, required bool) []string {
	v := l.value(name, required)
	if v == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !validFeed(f) {
			l.fail(name, "has %s, which is neither an http(s) URL nor an existing file", quote(f))
			return nil
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 && required {
		l.fail(name, "lists no feed")
	}
	return out
}

func validFeed(f string) bool {
	if u, err := url.Parse(f); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return u.Host != ""
	}
	path := f
	if strings.HasPrefix(f, "file://") {
		u, err := url.Parse(f)
		if err != nil {
			return false
		}
		path = u.Path
	} else if rest, ok := strings.CutPrefix(f, "file:"); ok {
		path = rest // file:relative/path
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// ScheduleParser parses POST_SCHEDULE: five fields (or six, with seconds),
// descriptors such as @every 5m, and a CRON_TZ= prefix.
var ScheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (l *loader) schedule(name string) string {
	v := l.value(name, false)
	if v == "" {
		return DefaultSchedule
	}
	if _, err := ScheduleParser.Parse(v); err != nil {
		l.fail(name, "is %s, not a cron spec (%v); e.g. \"*/10 * * * *\" or \"@every 5m\"", quote(v), err)
		return ""
	}
	return v
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]+):`)

func (l *loader) database(name string) (path, pgURL string) {
	v := l.value(name, false)
	if v == "" {
		return DefaultDatabase, ""
	}
	m := schemeRE.FindStringSubmatch(v)
	switch {
	case m == nil || strings.EqualFold(m[1], "file"):
		return v, ""
	case strings.EqualFold(m[1], "postgres") || strings.EqualFold(m[1], "postgresql"):
		return "", v
	}
	// The value may hold a password: name only the scheme.
	l.fail(name, "uses the scheme %q; give a SQLite file path or file: URI, or a postgres:// (postgresql://) URL", m[1])
	return "", ""
}

func (l *loader) count(name string, def int) int {
	v := l.value(name, false)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		l.fail(name, "is %s, not a whole number of 0 or more", quote(v))
		return def
	}
	return n
}

func (l *loader) rate(name string, def float64) float64 {
	v := l.value(name, false)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1000 {
		l.fail(name, "is %s, not a number of requests per second above 0 (e.g. 2 or 0.5)", quote(v))
		return def
	}
	return f
}

func (l *loader) apiURL(name string) string {
	v := l.value(name, false)
	if v == "" {
		v = DefaultAPIURL
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.fail(name, "is %s, not an http(s) base URL such as %s", quote(v), DefaultAPIURL)
		return ""
	}
	return strings.TrimRight(v, "/") + "/"
}

func (l *loader) addr(name string, required bool) string {
	v := l.value(name, required)
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		var p int
		p, err = strconv.Atoi(port)
		if err == nil && (p < 0 || p > 65535) {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		l.fail(name, "is %s, not a host:port address (e.g. 127.0.0.1:8080)", quote(v))
		return ""
	}
	return v
}

func (l *loader) fullText(name string) bool {
	switch v := strings.ToLower(l.value(name, false)); v {
	case "", "auto":
		return true
	case "off":
		return false
	default:
		l.fail(name, "is %s; use auto or off", quote(v))
		return false
	}
}

func (l *loader) askLimit(name string) (int, time.Duration) {
	v := l.value(name, false)
	if v == "" {
		v = DefaultAskLimit
	}
	n, d, ok := ParseAskLimit(v)
	if !ok {
		l.fail(name, "is %s; write questions/period, e.g. 3/10m or 5/1h", quote(v))
		return 3, 10 * time.Minute
	}
	return n, d
}

// ParseAskLimit parses "N/period" such as "3/10m".
func ParseAskLimit(v string) (int, time.Duration, bool) {
	count, period, found := strings.Cut(strings.TrimSpace(v), "/")
	if !found {
		return 0, 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return 0, 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(period))
	if err != nil || d <= 0 {
		return 0, 0, false
	}
	return n, d, true
}

func (l *loader) logLevel(name string) slog.Level {
	switch v := strings.ToLower(l.value(name, false)); v {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		l.fail(name, "is %s; use debug, info, warn or error", quote(v))
		return slog.LevelInfo
	}
}
