package app

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

// invitePermission is one permission the invite link asks for, and why.
type invitePermission struct {
	Perm int64
	Name string
	Why  string
}

// invitePermissions is exactly what newsbot's features need. Mention
// Everyone is deliberately absent: the news role is made mentionable instead.
// Manage Threads is absent too: adding a member to a private thread the bot
// created needs only Send Messages in Threads.
var invitePermissions = []invitePermission{
	{discordgo.PermissionViewChannel, "View Channel", "see the news and team channels"},
	{discordgo.PermissionSendMessages, "Send Messages", "post news and forward questions"},
	{discordgo.PermissionEmbedLinks, "Embed Links", "news posts and questions are embeds"},
	{discordgo.PermissionReadMessageHistory, "Read Message History", "find a post before re-sending it after a crash"},
	{discordgo.PermissionSendMessagesInThreads, "Send Messages in Threads", "answers in private threads, team discussion threads"},
	{discordgo.PermissionCreatePublicThreads, "Create Public Threads", "a thread on each forwarded question"},
	{discordgo.PermissionCreatePrivateThreads, "Create Private Threads", "answers to members whose DMs are closed"},
}

// routeUses says what the routes of ROUTES_FILE use each permission for.
// Routes need nothing beyond invitePermissions: publishing the bot's own
// posts takes only Send Messages, a forum post Send Messages and Embed
// Links, a thread on a post Create Public Threads and Send Messages in
// Threads (Manage Threads, for a forum's moderated tags, is left to the
// admin to grant where wanted).
func routeUses(cfg config.Config) map[int64][]string {
	if cfg.RoutesFile == "" {
		return nil
	}
	uses := map[int64][]string{}
	add := func(perm int64, format string, names []string) {
		if len(names) > 0 {
			uses[perm] = append(uses[perm], fmt.Sprintf(format, strings.Join(names, ", ")))
		}
	}
	var all, threads []string
	for _, r := range cfg.Routes {
		all = append(all, strconv.Quote(r.Name))
		if r.Thread {
			threads = append(threads, strconv.Quote(r.Name))
		}
	}
	add(discordgo.PermissionSendMessages, "posts, forum posts and publishing of routes %s", all)
	add(discordgo.PermissionCreatePublicThreads, "a thread on each post of routes %s", threads)
	return uses
}

func invitePermissionBits() int64 {
	var p int64
	for _, ip := range invitePermissions {
		p |= ip.Perm
	}
	return p
}

// inviteURL is the OAuth2 link that adds the bot to a server.
func inviteURL(appID, guildID string) string {
	q := url.Values{}
	q.Set("client_id", appID)
	q.Set("scope", "bot applications.commands")
	q.Set("permissions", strconv.FormatInt(invitePermissionBits(), 10))
	if guildID != "" {
		q.Set("guild_id", guildID)
		q.Set("disable_guild_select", "true")
	}
	return "https://discord.com/oauth2/authorize?" + q.Encode()
}

func inviteVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("invite", io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(io, config.Need{Token: true})
	if err != nil {
		return err
	}
	bot.SetAPIBase(cfg.APIURL)
	s, err := bot.NewSession(cfg.Token)
	if err != nil {
		return err
	}
	app, err := s.Application("@me")
	if err != nil {
		return fmt.Errorf("reading the application: %s", describeRESTError(err, cfg))
	}
	fmt.Fprintln(io.Stdout, inviteURL(app.ID, cfg.GuildID))
	fmt.Fprintln(io.Stdout, "\nOpen it in a browser while logged in as a server admin. It asks for:")
	uses := routeUses(cfg)
	for _, ip := range invitePermissions {
		why := ip.Why
		if u := uses[ip.Perm]; len(u) > 0 {
			why += "; " + strings.Join(u, "; ")
		}
		fmt.Fprintf(io.Stdout, "  - %s: %s\n", ip.Name, why)
	}
	fmt.Fprintln(io.Stdout, "and the scopes bot and applications.commands (slash commands). No privileged intent is needed.")
	return nil
}
