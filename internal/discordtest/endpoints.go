package discordtest

import (
	"strings"

	"github.com/newsbot/newsbot/internal/discordapi"
)

// PointDiscordgo sets every discordgo Endpoint* string variable derived from the API
// base to apiURL (with or without trailing slash); the Endpoint*(id) functions follow,
// since they read those strings when called. For tests only: the variables are globals,
// so tests that call it must not run in parallel with other Discord tests. Bot code uses
// its own SetAPIBase; Server.HTTPClient avoids globals altogether.
func PointDiscordgo(apiURL string) {
	discordapi.PointAt(strings.TrimRight(apiURL, "/") + "/")
}
