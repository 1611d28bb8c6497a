package bot

import (
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// ForumTagID returns the id of forum's tag named name (folded as route
// filters are: whole name, case and accents ignored), or "".
func ForumTagID(forum *discordgo.Channel, name string) string {
	want := articles.FoldName(name)
	for _, t := range forum.AvailableTags {
		if articles.FoldName(t.Name) == want {
			return t.ID
		}
	}
	return ""
}

// ForumTagNames lists forum's tag names for messages.
func ForumTagNames(forum *discordgo.Channel) string {
	if len(forum.AvailableTags) == 0 {
		return "none"
	}
	names := make([]string, 0, len(forum.AvailableTags))
	for _, t := range forum.AvailableTags {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// ForumTagModerated reports whether forum's tag named name is moderated.
func ForumTagModerated(forum *discordgo.Channel, name string) bool {
	want := articles.FoldName(name)
	for _, t := range forum.AvailableTags {
		if articles.FoldName(t.Name) == want {
			return t.Moderated
		}
	}
	return false
}
