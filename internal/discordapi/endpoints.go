// Package discordapi holds what newsbot needs of Discord's API beyond
// discordgo: pointing it at another API base (a REST proxy, a test fake),
// and message creates that carry a nonce.
package discordapi

import (
	"strings"

	"github.com/bwmarrin/discordgo"
)

// PointAt reassigns every discordgo endpoint string derived from the API
// base, as discordgo's endpoints.go derives them at init, to base (which
// ends in exactly one "/", e.g. "http://127.0.0.1:8080/api/v9/"). The
// Endpoint...(id) functions read those strings at call time, so they follow.
// The variables are globals: callers serialise, and call it before any
// request.
func PointAt(base string) {
	if root, ok := strings.CutSuffix(base, "api/v"+discordgo.APIVersion+"/"); ok {
		discordgo.EndpointDiscord = root
	}
	discordgo.EndpointAPI = base
	discordgo.EndpointGuilds = base + "guilds/"
	discordgo.EndpointChannels = base + "channels/"
	discordgo.EndpointUsers = base + "users/"
	discordgo.EndpointGateway = base + "gateway"
	discordgo.EndpointGatewayBot = discordgo.EndpointGateway + "/bot"
	discordgo.EndpointWebhooks = base + "webhooks/"
	discordgo.EndpointStickers = base + "stickers/"
	discordgo.EndpointStageInstances = base + "stage-instances"
	discordgo.EndpointSKUs = base + "skus"
	discordgo.EndpointVoice = base + "/voice/"
	discordgo.EndpointVoiceRegions = discordgo.EndpointVoice + "regions"
	discordgo.EndpointNitroStickersPacks = base + "/sticker-packs"
	discordgo.EndpointGuildCreate = base + "guilds"
	discordgo.EndpointApplications = base + "applications"
	discordgo.EndpointOAuth2 = base + "oauth2/"
	discordgo.EndpointOAuth2Applications = discordgo.EndpointOAuth2 + "applications"
	discordgo.EndpointOauth2 = discordgo.EndpointOAuth2
	discordgo.EndpointOauth2Applications = discordgo.EndpointOAuth2Applications
}
