package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/postgres"
)

// checklist prints one line per check, green or red with the fix.
type checklist struct {
	io     IO
	failed int
}

func (c *checklist) ok(format string, args ...any) {
	fmt.Fprintf(c.io.Stdout, "✓ %s\n", fmt.Sprintf(format, args...))
}

func (c *checklist) bad(what, fix string) {
	c.failed++
	fmt.Fprintf(c.io.Stdout, "✗ %s\n    fix: %s\n", what, fix)
}

// checkVerb verifies the whole setup, read-only: it changes nothing in
// Discord or in the database.
func checkVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("check", io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c := &checklist{io: io}
	cfg, err := config.Load(io.Getenv, config.Need{Token: true, Channels: true, Feeds: true})
	if err != nil {
		c.bad(oneLine(err.Error()), "set the variable in .env or the environment (see .env.example), then run newsbot check again")
		return silentError{code: exitFailure, msg: "1 check failed"}
	}
	c.ok("configuration parses (%d feed(s), schedule %q)", len(cfg.FeedURLs), cfg.Schedule)

	c.checkDiscord(ctx, cfg)
	c.checkFeeds(ctx, cfg)
	c.checkDatabase(ctx, cfg)

	if c.failed > 0 {
		return silentError{code: exitFailure, msg: fmt.Sprintf("%d check(s) failed", c.failed)}
	}
	fmt.Fprintln(io.Stdout, "All checks passed.")
	return nil
}

func (c *checklist) checkDiscord(ctx context.Context, cfg config.Config) {
	bot.SetAPIBase(cfg.APIURL)
	s, err := bot.NewSession(cfg.Token)
	if err != nil {
		c.bad("cannot create a Discord session: "+err.Error(), "check DISCORD_TOKEN")
		return
	}
	opt := discordgo.WithContext(ctx)
	me, err := s.User("@me", opt)
	if err != nil {
		if restStatus(err) == 401 {
			c.bad("Discord refused the token (DISCORD_TOKEN)", "copy the token again from the developer portal (Bot > Reset Token) into DISCORD_TOKEN")
		} else {
			c.bad("cannot reach Discord: "+describeRESTError(err, cfg), "check the network and DISCORD_API_URL")
		}
		return
	}
	c.ok("token accepted: bot %s (%s)", me.Username, me.ID)
	c.checkInteractions(ctx, s, cfg)

	var news *discordgo.Channel
	var routeChans []*discordgo.Channel
	if cfg.RoutesFile != "" {
		routeChans = c.checkRouteChannels(s, cfg)
		if len(routeChans) > 0 {
			news = routeChans[0]
		}
	} else {
		news = c.checkChannel(s, cfg, "NEWS_CHANNEL_ID", cfg.NewsChannelID, true)
		if news != nil {
			read := func(string) *discordgo.Channel { return news }
			if err := checkRouteKinds(cfg.Routes, read, nil); err != nil {
				c.bad(oneLine(err.Error()), "use a forum that does not require a tag, or a ROUTES_FILE route with forum_tag")
			}
		}
	}
	team := c.checkChannel(s, cfg, "TEAM_CHANNEL_ID", cfg.TeamChannelID, false)
	guildID := cfg.GuildID
	if news != nil {
		if guildID != "" && news.GuildID != guildID {
			c.bad(fmt.Sprintf("DISCORD_GUILD_ID %s is not the news channel's server (%s)", guildID, news.GuildID),
				"set DISCORD_GUILD_ID to the news channel's server id, or leave it empty")
		}
		guildID = news.GuildID
	}
	if team != nil && news != nil && team.GuildID != news.GuildID {
		c.bad("TEAM_CHANNEL_ID is in another server than NEWS_CHANNEL_ID", "use a private channel of the news channel's server")
		team = nil
	}
	if guildID == "" {
		return
	}
	guild, err := s.Guild(guildID, opt)
	if err != nil {
		c.bad("cannot read the server "+guildID+": "+describeRESTError(err, cfg), "invite the bot to the server (newsbot invite)")
		return
	}
	if len(guild.Roles) == 0 {
		if roles, err := s.GuildRoles(guildID, opt); err == nil {
			guild.Roles = roles
		}
	}
	member, err := s.GuildMember(guildID, me.ID, opt)
	if err != nil {
		c.bad("the bot is not a member of "+guild.Name+": "+describeRESTError(err, cfg), "invite the bot with the link of newsbot invite")
		return
	}
	c.ok("bot is a member of %s", guild.Name)
	if cfg.RoutesFile != "" {
		c.checkRoutePermissions(guild, member, cfg, routeChans)
	} else if news != nil {
		// The implicit route "news": the same checks as a routes file's
		// route (a forum news channel needs what a forum route needs).
		c.checkRoutePermissions(guild, member, cfg, []*discordgo.Channel{news})
	}
	if team != nil {
		c.checkPermissions(guild, member, team, "team channel", bot.TeamChannelNeeds)
		c.checkPrivate(guild, team)
	}
	if cfg.NewsRoleID != "" {
		c.checkRole(guild, member, cfg.NewsRoleID, "NEWS_ROLE_ID")
	}
	if cfg.RoutesFile != "" {
		seen := map[string]bool{}
		for _, r := range cfg.Routes {
			if r.RoleID != "" && !seen[r.RoleID] {
				seen[r.RoleID] = true
				c.checkRole(guild, member, r.RoleID, fmt.Sprintf("route %q role", r.Name))
			}
		}
	}
	c.checkCommands(ctx, s, cfg)
}

// checkChannel reads the channel named by variable name: a text or
// announcement channel of a server, or also a forum when forum is true (a
// news channel may be one, as run accepts it).
func (c *checklist) checkChannel(s *discordgo.Session, cfg config.Config, name, id string, forum bool) *discordgo.Channel {
	ch, err := s.Channel(id)
	if err != nil {
		switch restStatus(err) {
		case 403:
			c.bad(fmt.Sprintf("%s %s: the bot cannot see this channel", name, id), "give the bot's role View Channel in it (or invite the bot to that server)")
		case 404:
			c.bad(fmt.Sprintf("%s %s: no such channel", name, id), "copy the id again: Developer Mode on, right-click the channel > Copy Channel ID")
		default:
			c.bad(fmt.Sprintf("%s %s: %s", name, id, describeRESTError(err, cfg)), "check the id and the bot's access")
		}
		return nil
	}
	if forum && ch.Type == discordgo.ChannelTypeGuildForum {
		// a forum news channel: fine
	} else if ch.Type != discordgo.ChannelTypeGuildText && ch.Type != discordgo.ChannelTypeGuildNews {
		if forum {
			c.bad(fmt.Sprintf("%s %s (#%s) is a %s channel", name, id, ch.Name, bot.KindName(ch.Type)), "use a text, announcement or forum channel's id")
		} else {
			c.bad(fmt.Sprintf("%s %s (#%s) is not a text channel (type %d)", name, id, ch.Name, ch.Type), "use a text or announcement channel's id")
		}
		return nil
	}
	if ch.GuildID == "" {
		c.bad(fmt.Sprintf("%s %s is not a server channel", name, id), "use a channel of your server")
		return nil
	}
	c.ok("%s is #%s", name, ch.Name)
	return ch
}

func (c *checklist) checkPermissions(g *discordgo.Guild, m *discordgo.Member, ch *discordgo.Channel, what string, needs []bot.Need) {
	have := bot.ComputePermissions(g, m, ch)
	if missing := bot.Missing(have, needs); len(missing) > 0 {
		c.bad(fmt.Sprintf("in the %s #%s the bot lacks: %s", what, ch.Name, strings.Join(missing, ", ")),
			fmt.Sprintf("Server Settings > Channels > #%s > Permissions: allow them for the bot's role (a deny on @everyone or another role of the bot wins over an allow)", ch.Name))
		return
	}
	c.ok("the bot has every permission it needs in #%s", ch.Name)
}

// checkPrivate makes sure members cannot see the team channel: they would
// read every question and could press Reply, Close and Block.
func (c *checklist) checkPrivate(g *discordgo.Guild, ch *discordgo.Channel) {
	if bot.PublicChannel(g, ch) {
		c.bad(fmt.Sprintf("the team channel #%s is visible to @everyone: members would read every question and could answer with its buttons", ch.Name),
			fmt.Sprintf("#%s > Edit Channel > Permissions: make it private (deny View Channel to @everyone), allow the team's role and the bot", ch.Name))
		return
	}
	c.ok("the team channel #%s is private", ch.Name)
}

func (c *checklist) checkRole(g *discordgo.Guild, m *discordgo.Member, roleID, name string) {
	for _, r := range g.Roles {
		if r.ID != roleID {
			continue
		}
		if r.Mentionable {
			c.ok("news role @%s exists and can be mentioned", r.Name)
		} else {
			c.bad(fmt.Sprintf("news role @%s cannot be mentioned by the bot", r.Name),
				"Server Settings > Roles > "+r.Name+": turn on \"Allow anyone to @mention this role\" (newsbot never asks for Mention Everyone)")
		}
		return
	}
	c.bad(name+" "+roleID+" is not a role of "+g.Name, "copy the role id again (Server Settings > Roles > right-click > Copy Role ID), or leave it out")
}

func (c *checklist) checkCommands(ctx context.Context, s *discordgo.Session, cfg config.Config) {
	app, err := s.Application("@me")
	if err != nil {
		c.bad("cannot read the application: "+describeRESTError(err, cfg), "check DISCORD_TOKEN")
		return
	}
	got, err := s.ApplicationCommands(app.ID, cfg.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		c.bad("cannot read the registered commands: "+describeRESTError(err, cfg), "check DISCORD_TOKEN")
		return
	}
	if !bot.SameCommands(got, commandDefinitions()) {
		where := "globally"
		if cfg.GuildID != "" {
			where = "in the server " + cfg.GuildID
		}
		c.bad("the slash commands registered "+where+" differ from this version's", "start the bot (newsbot run): it registers them at start")
		return
	}
	c.ok("slash commands registered: /related, /ask")
}

// commandDefinitions are the definitions newsbot registers, without their
// handlers' dependencies.
func commandDefinitions() []*discordgo.ApplicationCommand {
	return []*discordgo.ApplicationCommand{
		commands.NewRelated(nil, nil).Definition,
		commands.NewAsk(commands.AskOptions{}).Command().Definition,
	}
}

func (c *checklist) checkFeeds(ctx context.Context, cfg config.Config) {
	f := articles.NewFetcher(nil)
	for _, u := range cfg.FeedURLs {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := f.Fetch(fctx, u, "", "")
		cancel()
		if err != nil {
			c.bad(fmt.Sprintf("feed %s: %s", u, oneLine(err.Error())), "open the URL in a browser; fix or remove it from FEED_URLS")
			continue
		}
		feed, err := articles.ParseFeed(u, res.Body, time.Now())
		if err != nil {
			if alt := feedLinks(res.Body, res.URL); len(alt) > 0 {
				c.bad(fmt.Sprintf("feed %s is a web page, not a feed", u), "use its feed instead: FEED_URLS="+alt[0])
			} else {
				c.bad(fmt.Sprintf("feed %s: not a feed (%s)", u, oneLine(err.Error())), "use the site's RSS/Atom feed URL (WordPress: https://your.site/feed/)")
			}
			continue
		}
		newest := time.Time{}
		for _, it := range feed.Items {
			if it.Published.After(newest) {
				newest = it.Published
			}
		}
		when := "no dated item"
		if !newest.IsZero() {
			when = "newest " + newest.UTC().Format("2006-01-02")
		}
		c.ok("feed %s: %d items, %s", u, len(feed.Items), when)
	}
}

func (c *checklist) checkDatabase(ctx context.Context, cfg config.Config) {
	if cfg.DatabaseURL != "" {
		c.checkPostgres(ctx, cfg)
		return
	}
	path := cfg.DatabasePath
	file := strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(file, '?'); i >= 0 {
		file = file[:i]
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		c.ok("database %s does not exist yet: newsbot creates it at first start", file)
		return
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		c.bad("database "+file+": "+err.Error(), "check DATABASE_URL and the file's permissions")
		return
	}
	defer db.Close()
	var version int
	err = db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version)
	if err != nil {
		c.bad("database "+file+" cannot be read: "+oneLine(err.Error()), "check DATABASE_URL; is it a newsbot database?")
		return
	}
	c.ok("database %s opens (schema version %d)", file, version)
}

// restStatus returns the HTTP status of a discordgo REST error, or 0.
func restStatus(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// describeRESTError says what went wrong without echoing the request (whose
// headers hold the token).
func describeRESTError(err error, cfg config.Config) string {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		msg := re.Response.Status
		if re.Message != nil && re.Message.Message != "" {
			msg += fmt.Sprintf(" (%s, code %d)", re.Message.Message, re.Message.Code)
		}
		return msg
	}
	host := cfg.APIURL
	if u, perr := url.Parse(cfg.APIURL); perr == nil {
		host = u.Host
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("no answer from %s (%v)", host, ue.Err)
	}
	return strings.ReplaceAll(oneLine(err.Error()), cfg.Token, "[token]")
}

// checkPostgres connects (read-only: nothing is migrated) and says the
// schema version and which instance leads.
func (c *checklist) checkPostgres(ctx context.Context, cfg config.Config) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := postgres.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		c.bad("PostgreSQL: "+redactURL(oneLine(err.Error()), cfg.DatabaseURL), "check DATABASE_URL (postgres://user:password@host:5432/database), that the server runs and lets this host in")
		return
	}
	defer db.Close()
	c.ok("PostgreSQL answers")
	v, err := db.SchemaVersion(ctx)
	switch latest := postgres.LatestVersion(); {
	case err != nil:
		c.bad("PostgreSQL schema cannot be read: "+oneLine(err.Error()), "check that DATABASE_URL names newsbot's database and its user may read it")
		return
	case v == 0:
		c.ok("PostgreSQL database is empty: the first instance to lead creates the schema (version %d)", latest)
	case v > latest:
		c.bad(fmt.Sprintf("PostgreSQL schema is at version %d, newer than this newsbot knows (%d): it would only stand by", v, latest),
			"run the newsbot release that migrated it (or a newer one)")
	case v < latest:
		c.ok("PostgreSQL schema version %d (the leader migrates it to %d)", v, latest)
	default:
		c.ok("PostgreSQL schema version %d", v)
	}
	info, err := db.WhoLeads(ctx)
	switch {
	case err != nil:
		c.bad("cannot tell which instance leads: "+oneLine(err.Error()), "check that DATABASE_URL's user may read pg_locks")
	case info.Held:
		c.ok("leader: %s (epoch %d, since %s)", info.Holder, info.Epoch, info.Since.UTC().Format(time.RFC3339))
	case info.Epoch > 0:
		c.ok("no instance leads now (the last leader was %s, epoch %d)", info.Holder, info.Epoch)
	default:
		c.ok("no instance leads yet")
	}
}

// redactURL removes the database URL (its password) from a message.
func redactURL(msg, dbURL string) string {
	if dbURL == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, dbURL, "[DATABASE_URL]")
	if u, err := url.Parse(dbURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "[password]")
		}
	}
	return msg
}
