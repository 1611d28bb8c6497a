package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/newsbot/newsbot/articles"
	"go.yaml.in/yaml/v3"
)

// NewsRoute is the name of the implicit route that FEED_URLS,
// NEWS_CHANNEL_ID and NEWS_ROLE_ID make without ROUTES_FILE.
const NewsRoute = "news"

// maxRoutesFile caps the size of a routes file read at start.
const maxRoutesFile = 1 << 20

// Route sends the articles of some feeds that its filter accepts to one
// channel.
type Route struct {
	Name      string
	Feeds     []string // http(s) URLs or local files, as configured
	ChannelID string
	RoleID    string // mentioned in the route's posts; "" for none
	Filter    articles.Filter
	Thread    bool   // a discussion thread on each post (text, announcement)
	Publish   bool   // crosspost each post (announcement channels)
	ForumTag  string // forum channels: tag used when no category matches one
	// PublishSet and ThreadSet say whether the file gave publish and thread:
	// kind checks refuse them on a forum only when written.
	PublishSet, ThreadSet bool

	src routeSource
}

// routeSource is where a route was written, for errors found once the
// channels are read.
type routeSource struct {
	file string
	line int            // the route's first line
	keys map[string]int // key -> line
}

// Errorf returns a configuration error about key of the route, in the same
// one-line form as the file's parse errors: for a route of ROUTES_FILE
// "config: ROUTES_FILE <file>:<line>: <key>: route "<name>" ...". For the
// implicit route it names NEWS_CHANNEL_ID.
func (r Route) Errorf(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if r.src.file == "" {
		return fmt.Errorf("config: NEWS_CHANNEL_ID %s", msg)
	}
	line, ok := r.src.keys[key]
	if !ok {
		line = r.src.line
	}
	return routesError(r.src.file, line, key, fmt.Sprintf("route %q %s", r.Name, msg))
}

func routesError(file string, line int, key, msg string) error {
	return fmt.Errorf("config: ROUTES_FILE %s:%d: %s: %s", file, line, key, msg)
}

// implicitRoute is the route of an install without ROUTES_FILE.
func implicitRoute(c Config) Route {
	return Route{Name: NewsRoute, Feeds: c.FeedURLs, ChannelID: c.NewsChannelID, RoleID: c.NewsRoleID}
}

// LoadRoutes reads and checks the routes file at path. teamChannelID, when
// set, may not be a route's channel.
func LoadRoutes(path, teamChannelID string) ([]Route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: ROUTES_FILE %s cannot be read: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRoutesFile+1))
	if err != nil {
		return nil, fmt.Errorf("config: ROUTES_FILE %s cannot be read: %w", path, err)
	}
	if len(data) > maxRoutesFile {
		return nil, fmt.Errorf("config: ROUTES_FILE %s is over %d bytes", path, maxRoutesFile)
	}
	return ParseRoutes(path, data, teamChannelID)
}

// rawRoutes is the file's shape; decoding into it with KnownFields(true)
// refuses unknown keys and wrong types.
type rawRoutes struct {
	Routes []rawRoute `yaml:"routes"`
}

type rawRoute struct {
	Name     string    `yaml:"name"`
	Feeds    []string  `yaml:"feeds"`
	Channel  string    `yaml:"channel"`
	Role     string    `yaml:"role"`
	Include  *rawMatch `yaml:"include"`
	Exclude  *rawMatch `yaml:"exclude"`
	Thread   *bool     `yaml:"thread"`
	Publish  *bool     `yaml:"publish"`
	ForumTag string    `yaml:"forum_tag"`
}

type rawMatch struct {
	Categories []string `yaml:"categories"`
	Words      []string `yaml:"words"`
}

var routeKeys = "name, feeds, channel, role, include, exclude, thread, publish, forum_tag"

// ParseRoutes parses a routes file's content; file names it in errors.
func ParseRoutes(file string, data []byte, teamChannelID string) ([]Route, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(file, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawRoutes
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, routesError(file, 1, "routes", "the file is empty; list at least one route")
		}
		return nil, typeError(file, &root, err)
	}
	items := routeNodes(&root)
	if len(raw.Routes) == 0 || len(items) != len(raw.Routes) {
		return nil, routesError(file, max(keyLine(&root, "routes"), 1), "routes", "lists no route")
	}
	p := routeParser{file: file, team: teamChannelID, names: map[string]int{}}
	routes := make([]Route, 0, len(raw.Routes))
	for i, rr := range raw.Routes {
		r, err := p.route(rr, items[i])
		if err != nil {
			return nil, err
		}
		routes = append(routes, r)
	}
	if err := checkShared(routes); err != nil {
		return nil, err
	}
	return routes, nil
}

// routeParser checks routes one by one.
type routeParser struct {
	file  string
	team  string
	names map[string]int // name -> line of its route
}

func (p *routeParser) route(rr rawRoute, n *yaml.Node) (Route, error) {
	src := routeSource{file: p.file, line: n.Line, keys: map[string]int{}}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			src.keys[n.Content[i].Value] = n.Content[i].Line
		}
	}
	fail := func(key, format string, args ...any) (Route, error) {
		line, ok := src.keys[key]
		if !ok {
			line = src.line
		}
		return Route{}, routesError(p.file, line, key, fmt.Sprintf(format, args...))
	}
	r := Route{Name: strings.TrimSpace(rr.Name), src: src}
	if r.Name == "" {
		return fail("name", "is missing: every route needs a unique name")
	}
	if prev, dup := p.names[r.Name]; dup {
		return fail("name", "%s is also the name of the route at line %d; names must be unique", quote(r.Name), prev)
	}
	p.names[r.Name] = src.line
	in := fmt.Sprintf("(route %q)", r.Name)

	seen := map[string]bool{}
	for _, f := range rr.Feeds {
		f = strings.TrimSpace(f)
		if f == "" {
			return fail("feeds", "has an empty entry %s", in)
		}
		if !validFeed(f) {
			return fail("feeds", "has %s, which is neither an http(s) URL nor an existing file %s", quote(f), in)
		}
		if !seen[f] {
			seen[f] = true
			r.Feeds = append(r.Feeds, f)
		}
	}
	if len(r.Feeds) == 0 {
		return fail("feeds", "is missing or empty: list the feed URLs of the route %s", in)
	}

	var ok bool
	if r.ChannelID, ok = snowflakeValue(rr.Channel); !ok {
		if strings.TrimSpace(rr.Channel) == "" {
			return fail("channel", "is missing: give the id of the channel that receives the route's posts %s", in)
		}
		return fail("channel", "is %s, not a Discord id (a snowflake: digits only) %s", quote(rr.Channel), in)
	}
	if p.team != "" && r.ChannelID == p.team {
		return fail("channel", "is TEAM_CHANNEL_ID; questions belong in a private team channel, not in a route's %s", in)
	}
	if strings.TrimSpace(rr.Role) != "" {
		if r.RoleID, ok = snowflakeValue(rr.Role); !ok {
			return fail("role", "is %s, not a Discord role id (a snowflake: digits only) %s", quote(rr.Role), in)
		}
	}

	if rr.Include != nil {
		m, empty, bad := match(rr.Include)
		if bad {
			return fail("include", "has an empty entry %s", in)
		}
		if empty {
			return fail("include", "is empty: list categories or words, or remove include %s", in)
		}
		r.Filter.Include = &m
	}
	if rr.Exclude != nil {
		m, _, bad := match(rr.Exclude)
		if bad {
			return fail("exclude", "has an empty entry %s", in)
		}
		r.Filter.Exclude = m
	}
	r.Publish = true
	if rr.Publish != nil {
		r.Publish, r.PublishSet = *rr.Publish, true
	}
	if rr.Thread != nil {
		r.Thread, r.ThreadSet = *rr.Thread, true
	}
	r.ForumTag = strings.TrimSpace(rr.ForumTag)
	if _, set := src.keys["forum_tag"]; set && r.ForumTag == "" {
		return fail("forum_tag", "is empty: name one of the forum's tags, or remove forum_tag %s", in)
	}
	return r, nil
}

// match converts a raw include/exclude; empty says it lists nothing, bad
// that an entry is blank.
func match(m *rawMatch) (out articles.Match, empty, bad bool) {
	for _, c := range m.Categories {
		if strings.TrimSpace(c) == "" {
			return out, false, true
		}
		out.Categories = append(out.Categories, strings.TrimSpace(c))
	}
	for _, w := range m.Words {
		if len(articles.FoldWords(w)) == 0 {
			return out, false, true
		}
		out.Words = append(out.Words, strings.TrimSpace(w))
	}
	return out, out.Empty(), false
}

func snowflakeValue(v string) (string, bool) {
	v = strings.TrimSpace(v)
	n, err := strconv.ParseUint(v, 10, 64)
	if !digits.MatchString(v) || err != nil || n == 0 {
		return "", false
	}
	return v, true
}

// checkShared refuses routes that share a channel but disagree on how its
// posts are made.
func checkShared(routes []Route) error {
	first := map[string]Route{}
	for _, r := range routes {
		f, ok := first[r.ChannelID]
		if !ok {
			first[r.ChannelID] = r
			continue
		}
		for _, d := range []struct {
			key  string
			same bool
		}{
			{"thread", f.Thread == r.Thread},
			{"publish", f.Publish == r.Publish},
			{"forum_tag", f.ForumTag == r.ForumTag},
		} {
			if !d.same {
				return r.Errorf(d.key, "shares channel %s with route %q but not its %s; routes of one channel must agree on thread, publish and forum_tag", r.ChannelID, f.Name, d.key)
			}
		}
	}
	return nil
}

// RouteFeeds returns every feed of the routes once, in order of first use.
func RouteFeeds(routes []Route) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range routes {
		for _, f := range r.Feeds {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}
