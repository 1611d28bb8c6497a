// Package discordtest is an in-repo fake Discord for tests: REST API v9 and the
// gateway websocket on loopback, reached through the real discordgo v0.29.0 code
// path by pointing discordgo's endpoint variables at [Server.APIURL] (the bot's
// own SetAPIBase, or [PointDiscordgo] in tests), or by giving the session
// [Server.HTTPClient] as its Client (no globals touched).
//
// A [Server] starts with a small world:
//
//	bot user       "100" (username "newsbot"), application "200"
//	guild          "300" "Test Guild", owned by user "900" ("owner")
//	@everyone role "300": typical member permissions (EveryonePerms)
//	bot role       "310" "newsbot": BotPerms (view, send, embed links, history, send in
//	               threads, create public/private threads); the bot member holds it
//	team role      "320" "team" (TeamPerms), held by user "600" ("teammate")
//	member         "500" ("member"), no extra role; the default author of interactions
//	channels       "400" news (text), "401" team (text; @everyone denied View Channel,
//	               roles 310 and 320 allowed), "402" general (text; where interactions
//	               come from unless told otherwise)
//
// Change it with AddGuild, AddChannel, RemoveChannel, SetOverwrites, AddRole,
// SetRolePermissions, AddMember, RemoveMember, SetBotRoles, SetDMsClosed, SetToken.
// Changes apply to REST at once; the gateway sends them on the next IDENTIFY, or now
// with DispatchGuildCreate.
//
// Requests must carry "Authorization: Bot fake-token" ([Token], [Server.SetToken]);
// anything else gets 401 {"message":"401: Unauthorized","code":0} (interaction
// callbacks and webhook routes need no token, as on Discord). An IDENTIFY with a wrong
// token is closed with 4004.
//
// # Announcement channels and forums
//
// AddChannel with Type [ChannelTypeAnnouncement] (5) or [ChannelTypeForum] (15) makes
// them; a forum's AvailableTags {id, name, moderated, emoji_id, emoji_name} get ids
// when they have none ([Server.ForumTags], [Server.ForumTagID]), and Flags may hold
// [ChannelFlagRequireTag]. GET /channels/{id} returns them (tags with emoji_id and
// emoji_name, null when unset). A forum takes no plain message (400 code 40058).
// [Server.UpdateChannel] changes a channel as an admin would and sends CHANNEL_UPDATE
// (THREAD_UPDATE for a thread) over the gateway.
//
// Publishing: POST /channels/{c}/messages/{m}/crosspost (discordgo
// ChannelMessageCrosspost) works in announcement channels only (else 400 50024), on an
// existing message (404 10008), once (400 40033 "already crossposted"); the bot's own
// message needs Send Messages, another's Manage Messages (403 50013). It sets flag 1
// (CROSSPOSTED) and returns the message. [WithPublishLimit] / [Server.SetPublishLimit]
// add Discord's per-channel publish limit (429, long retry_after, usual headers and
// body). [Server.Crossposted] lists the published message ids, [Server.CrosspostRequests]
// counts the requests.
//
// Forum posts: POST /channels/{forum}/threads (discordgo ForumThreadStartComplex) with
// name, auto_archive_duration, applied_tags and message {content, embeds,
// allowed_mentions, ...} makes a public thread (type 11, parent_id the forum, owner_id
// the bot, applied_tags) whose first message has the thread's id, and answers 201 with
// the thread and the message nested as "message" (no nonce, no dedupe). Refusals: 400
// 50035 (name 1-100, more than 5 tags, a tag not of this forum, message missing or over
// a message's limits), 403 50013 (no Send Messages; a moderated tag without Manage
// Threads; an embed-only message without Embed Links), 400 40067 (REQUIRE_TAG and no
// tag), 400 50006 (empty), 400 50024 (a post to a channel that is not a forum).
// [Server.ForumPosts] lists them; GET /channels/{thread}/messages/{thread} is the first
// message.
//
// Threads on posts: POST /channels/{c}/messages/{m}/threads (MessageThreadStartComplex)
// gives the thread the message's id, type 11 (10 under an announcement channel); 400
// 160004 when the message has one, 404 10008 for an unknown message, 400 50024 in a
// thread or forum; 400 160006 past the guild's active thread limit
// ([Server.SetMaxActiveThreads], default 1000; forum posts too). [Server.MessageThread],
// [Server.Threads] (by parent).
//
// Finding threads again: GET /guilds/{g}/threads/active (GuildThreadsActive) lists the
// guild's unarchived threads the bot can see, {"threads", "members"} (the bot's thread
// members), no paging; GET /channels/{c}/threads/active (v9, ThreadsActive) one
// channel's; GET /channels/{c}/threads/archived/public?before=ISO8601&limit=2..100
// (ThreadsArchived) the archived public threads, newest archive first, with has_more
// (400 50035 for a bad limit or before, 403 50013 without Read Message History).
// [Server.ArchiveThread] archives one now (THREAD_UPDATE); [Server.ActiveThreads].
// Creating a thread sends no THREAD_CREATE.
//
// # Gateway
//
// GET /gateway and /gateway/bot answer {"url":"ws://127.0.0.1:PORT/gw/"}. The websocket
// speaks plain JSON text frames: HELLO first; IDENTIFY -> READY (guilds unavailable) then
// one GUILD_CREATE per guild of the bot (channels, roles, members with the bot's, so
// discordgo's State.UserChannelPermissions works); RESUME -> replay of the dispatches
// after seq, then RESUMED (unknown session: op 9 false); heartbeat -> op 11; a second
// IDENTIFY -> 4005. A client close with 1000/1001 ends the session (as on Discord), other
// closes and drops keep it resumable. Faults: [Server.DropGateway] (abrupt, no close
// frame), [Server.Reconnect] (op 7), [Server.InvalidSession] (op 9),
// [Server.SetGatewayDown], [Server.HoldIdentify] (no READY until released),
// [Server.StopHeartbeatACKs]. State: [Server.Gateway], [Server.Connected],
// [Server.WaitIdentified], [Server.WaitResumed], [Server.WaitHeartbeat],
// [Server.WaitGateway].
//
// Before DropGateway or Reconnect, call [Server.WaitHeartbeat]: discordgo v0.29 races
// when its socket closes before its new heartbeat goroutine wrote once (two reconnects
// run and close each other's sockets). Sessions are isolated per fake: a leftover
// discordgo session of an earlier test that reaches this fake through the global
// endpoints is refused (close 4009) and never takes the current connection's place;
// set ShouldReconnectOnError = false (under the session's lock) before Close anyway.
//
// WaitIdentified returns once READY is queued: discordgo's handlers (and its State) run
// later in their own goroutines, so wait on a GuildCreate/Ready handler of your own when
// a test needs the State filled.
//
// # Interactions
//
// [Server.Interact] dispatches an INTERACTION_CREATE built from an [InteractionSpec]:
//
//	it, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "why?")),
//		discordtest.FromUser("501", "bob"), discordtest.InChannel(discordtest.NewsChannelID))
//	resp, err := fake.WaitResponse(ctx, it.ID)          // the accepted callback
//	ex, err := fake.WaitExchange(ctx, it.ID, func(e discordtest.Exchange) bool {
//		return e.Original != nil && e.Original.Flags&discordgo.MessageFlagsLoading == 0
//	}) // after a deferred reply was edited
//
// Builders: [Command], [Autocomplete] (+ [Focused]), [Button], [SelectMenu],
// [ModalSubmit], [Opt], [SubCommand]; modifiers: [FromUser], [InChannel], [InGuild],
// [InDM], [OnMessage], [WithRoles], [WithPermissions]. Integers are sent as JSON numbers.
//
// POST /interactions/{id}/{token}/callback accepts ONE valid callback within the
// deadline ([WithInteractionDeadline], default 3 s, measured from dispatch on the fake's
// clock: use [WithClock] + [Server.Advance] to test lateness without depending on the
// machine's speed). A second callback gets 400 code 40060, a late one 404 code 10062, an
// invalid one (wrong type for the interaction, limits of messages, autocomplete choices
// or modals) 400 code 50035 and does not count. Type 4 and 5 create the @original message
// (in the channel unless ephemeral); 6 and 7 refer to (7: edit) the component's message.
// Over HTTP (design.md "Several instances"): [WithInteractionsEndpoint] /
// [Server.SetInteractionsEndpoint](urls...) make Interact POST the interaction to the
// urls in turn (or to [ToEndpoint]'s) instead of the gateway, in the background, with
// X-Signature-Ed25519 (hex) over X-Signature-Timestamp (unix seconds, real clock) + body,
// signed by the application's key ([Server.PublicKey], hex, also the application's
// verify_key). The answer's body (JSON, or multipart with payload_json) is taken as the
// callback exactly as POST .../callback would be (same checks, deadline and records); a
// non-2xx answer leaves the interaction unanswered; the endpoint is given the deadline
// in real time too. [Exchange].Delivery, [Server.WaitDelivered] and [Server.Deliveries]
// show what was sent and answered. [BadSignature] and [StaleTimestamp] spoil one
// delivery; [Server.Ping] sends PING (want 200 {"type":1}: [Delivery.Pong]);
// [Server.ValidateEndpoint] checks an endpoint as Discord does when its URL is saved.
// GET /applications/@me reports interactions_endpoint_url (the first url, or
// [Server.SetApplicationEndpointURL]'s; null without).
//
// Webhook routes: GET/PATCH/DELETE /webhooks/{app}/{token}/messages/@original (and a
// follow-up's id), POST /webhooks/{app}/{token}[?wait=true] for follow-ups (before any
// callback: 404 10015; token older than 15 min: 401 50027).
//
// # REST
//
// Messages: POST /channels/{id}/messages (JSON or multipart with payload_json) checks
// Discord's limits (400 50035 with an "errors" object: content 2000, 10 embeds, title
// 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048, author
// 256, 6000 in all, nonce 25, component basics), emptiness (400 50006), the bot's
// permissions computed from roles and overwrites as Discord does (403 50001 without View
// Channel, 50013 without Send Messages / Send Messages in Threads, or for an embed-only
// message without Embed Links; with text the embeds are silently dropped), non-text
// channels (400 50008) and closed DMs (403 50007). With enforce_nonce, a nonce seen from
// the bot within the window ([WithNonceWindow], default 5 min) returns the existing
// message (200) and creates nothing. The answer echoes the nonce; fetched messages do
// not carry it. Mentions are resolved from allowed_mentions (absent: everything) and the
// Mention Everyone permission, into mention_everyone / mention_roles / mentions.
// Also: GET/PATCH/DELETE messages, GET messages (limit, before, after, around; empty
// without Read Message History), channels, guilds, roles, members, users/@me,
// applications/@me, oauth2/applications/@me, application commands global and guild
// (GET, PUT bulk overwrite keeping ids by name, POST, PATCH, DELETE; definitions
// validated), DM channels, threads on a message (thread id = message id; 160004 when one
// exists), threads without a message (API v9 default: private), thread members.
//
// # Rate limits and faults
//
// Every answer carries X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket (discordgo
// reads them before the body). [WithRateLimit] / [Server.SetRateLimit] add a fixed-window
// limit per route and path (e.g. 5 per 5 s on "/channels/*/messages" is a limit per
// channel) answered with 429 {"message","retry_after","global":false} and Retry-After;
// windows follow the fake's clock, while discordgo waits in real time: keep the default
// clock when a limited route is driven by discordgo. [Server.RateLimited] counts 429s.
//
// Faults are injected on a method ("" = any) and a path pattern relative to /api/v9 in
// [path.Match] syntax ("*" is one segment; a trailing "/**" any rest), e.g.
// ("POST", "/channels/400/messages"): [Server.Fail] with a [Fault] (status + code, raw
// body, 429 with retry_after, global, dropped connection, AfterAccept: performed then
// failed), [Server.FailNext], [Server.RateLimitNext], [Server.DropNext],
// [Server.AcceptThenFail], [Server.Hold] (blocks until [Hold.Release]; a client that
// gives up leaves nothing performed), [Server.HoldAnswer] (performs the request, then
// holds the answer until released; a client that gives up or dies meanwhile never hears
// of the done action, recorded with status 0), [Server.ClearFaults].
//
// # Recording and waiting
//
// [Server.Requests] (method, path, query, headers, auth, body, status, Discord code),
// [Server.Messages] / [Server.Message] (embeds, components, nonce, allowed_mentions as
// received, files, edits), [Server.DMs], [Server.Commands], [Server.CommandWrites],
// [Server.Threads], [Server.ThreadMembers], [Server.Exchange], [Server.Interactions].
// Every recorded event closes the channel of [Server.Changed]; [Server.WaitFor],
// [Server.WaitMessages], [Server.WaitRequest], [Server.WaitExchange] build on it, so
// tests never sleep.
package discordtest
