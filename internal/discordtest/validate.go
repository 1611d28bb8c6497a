package discordtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// formErrors is Discord's nested "errors" object of a 50035 answer.
type formErrors map[string]any

func (fe formErrors) add(code, msg string, path ...string) {
	m := map[string]any(fe)
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	list, _ := m["_errors"].([]any)
	m["_errors"] = append(list, map[string]any{"code": code, "message": msg})
}

func (fe formErrors) maxLen(s string, n int, path ...string) {
	if utf8.RuneCountInString(s) > n {
		fe.add("BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", n), path...)
	}
}

func (fe formErrors) lenBetween(s string, lo, hi int, path ...string) {
	if n := utf8.RuneCountInString(s); n < lo || n > hi {
		fe.add("BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi), path...)
	}
}

func invalidForm(fe formErrors) answer {
	b, _ := json.Marshal(map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": map[string]any(fe)})
	return answer{status: 400, body: b, code: 50035}
}

// validateEmbeds checks Discord's embed limits.
func validateEmbeds(fe formErrors, embeds []*discordgo.MessageEmbed, prefix ...string) {
	if len(embeds) > 10 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.", append(prefix, "embeds")...)
	}
	total := 0
	for i, e := range embeds {
		if e == nil {
			continue
		}
		p := append(append([]string{}, prefix...), "embeds", strconv.Itoa(i))
		at := func(k ...string) []string { return append(append([]string{}, p...), k...) }
		fe.maxLen(e.Title, 256, at("title")...)
		fe.maxLen(e.Description, 4096, at("description")...)
		total += utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
		if e.URL != "" && !validURL(e.URL) {
			fe.add("URL_TYPE_INVALID_URL", "Not a well formed URL.", at("url")...)
		}
		if len(e.Fields) > 25 {
			fe.add("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.", at("fields")...)
		}
		for j, f := range e.Fields {
			if f == nil {
				continue
			}
			fp := at("fields", strconv.Itoa(j))
			if strings.TrimSpace(f.Name) == "" {
				fe.add("BASE_TYPE_REQUIRED", "This field is required", append(fp, "name")...)
			}
			if strings.TrimSpace(f.Value) == "" {
				fe.add("BASE_TYPE_REQUIRED", "This field is required", append(fp, "value")...)
			}
			fe.maxLen(f.Name, 256, append(fp, "name")...)
			fe.maxLen(f.Value, 1024, append(fp, "value")...)
			total += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
		}
		if e.Footer != nil {
			fe.maxLen(e.Footer.Text, 2048, at("footer", "text")...)
			total += utf8.RuneCountInString(e.Footer.Text)
		}
		if e.Author != nil {
			fe.maxLen(e.Author.Name, 256, at("author", "name")...)
			total += utf8.RuneCountInString(e.Author.Name)
			if e.Author.URL != "" && !validURL(e.Author.URL) {
				fe.add("URL_TYPE_INVALID_URL", "Not a well formed URL.", at("author", "url")...)
			}
		}
		if e.Image != nil && e.Image.URL != "" && !validURL(e.Image.URL) {
			fe.add("URL_TYPE_INVALID_URL", "Not a well formed URL.", at("image", "url")...)
		}
		if e.Thumbnail != nil && e.Thumbnail.URL != "" && !validURL(e.Thumbnail.URL) {
			fe.add("URL_TYPE_INVALID_URL", "Not a well formed URL.", at("thumbnail", "url")...)
		}
		if e.Timestamp != "" && !validTimestamp(e.Timestamp) {
			fe.add("DATE_TIME_TYPE_PARSE", "Could not parse "+e.Timestamp+". Should be ISO8601.", at("timestamp")...)
		}
	}
	if total > 6000 {
		fe.add("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000", append(prefix, "embeds")...)
	}
}

var timestampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

func validTimestamp(s string) bool { return timestampRe.MatchString(s) }

func validURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "attachment://")
}

// validateComponents checks the message component limits that matter here.
func validateComponents(fe formErrors, raw json.RawMessage, prefix ...string) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var rows []struct {
		Type       int `json:"type"`
		Components []struct {
			Type     int    `json:"type"`
			CustomID string `json:"custom_id"`
			Label    string `json:"label"`
			URL      string `json:"url"`
			Style    int    `json:"style"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		fe.add("MODEL_TYPE_CONVERT", "Only iterables may be used in a ListType", append(prefix, "components")...)
		return
	}
	if len(rows) > 5 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.", append(prefix, "components")...)
	}
	for i, r := range rows {
		p := append(append([]string{}, prefix...), "components", strconv.Itoa(i))
		if r.Type != 1 {
			continue // newer layouts are not checked
		}
		if len(r.Components) == 0 || len(r.Components) > 5 {
			fe.add("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.", append(p, "components")...)
		}
		for j, c := range r.Components {
			cp := append(append([]string{}, p...), "components", strconv.Itoa(j))
			if c.Type == 2 {
				if c.Style == 5 {
					if c.URL == "" {
						fe.add("BASE_TYPE_REQUIRED", "This field is required", append(cp, "url")...)
					}
				} else {
					fe.lenBetween(c.CustomID, 1, 100, append(cp, "custom_id")...)
				}
				fe.maxLen(c.Label, 80, append(cp, "label")...)
			} else if c.CustomID != "" {
				fe.maxLen(c.CustomID, 100, append(cp, "custom_id")...)
			}
		}
	}
}

// validateModal checks a type 9 callback's data.
func validateModal(fe formErrors, data json.RawMessage) {
	var m struct {
		CustomID   string `json:"custom_id"`
		Title      string `json:"title"`
		Components []struct {
			Type       int `json:"type"`
			Components []struct {
				Type        int    `json:"type"`
				CustomID    string `json:"custom_id"`
				Label       string `json:"label"`
				Style       int    `json:"style"`
				MinLength   int    `json:"min_length"`
				MaxLength   int    `json:"max_length"`
				Value       string `json:"value"`
				Placeholder string `json:"placeholder"`
			} `json:"components"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		fe.add("MODEL_TYPE_CONVERT", "Invalid modal.", "data")
		return
	}
	fe.lenBetween(m.Title, 1, 45, "data", "title")
	fe.lenBetween(m.CustomID, 1, 100, "data", "custom_id")
	if len(m.Components) < 1 || len(m.Components) > 5 {
		fe.add("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.", "data", "components")
	}
	for i, r := range m.Components {
		p := []string{"data", "components", strconv.Itoa(i)}
		if r.Type != 1 || len(r.Components) != 1 {
			fe.add("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1 in length.", append(p, "components")...)
			continue
		}
		c := r.Components[0]
		cp := append(p, "components", "0")
		at := func(k string) []string { return append(append([]string{}, cp...), k) }
		if c.Type != 4 {
			fe.add("UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (4,).", at("type")...)
		}
		fe.lenBetween(c.CustomID, 1, 100, at("custom_id")...)
		fe.lenBetween(c.Label, 1, 45, at("label")...)
		if c.Style != 1 && c.Style != 2 {
			fe.add("UNION_TYPE_CHOICES", "Value of field \"style\" must be one of (1, 2).", at("style")...)
		}
		if c.MaxLength > 4000 || c.MaxLength < 0 {
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 4000.", at("max_length")...)
		}
		if c.MinLength > 4000 || c.MinLength < 0 {
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 4000.", at("min_length")...)
		}
		fe.maxLen(c.Value, 4000, at("value")...)
		fe.maxLen(c.Placeholder, 100, at("placeholder")...)
	}
}

// validateChoices checks a type 8 callback's data.
func validateChoices(fe formErrors, choices []*discordgo.ApplicationCommandOptionChoice) {
	if len(choices) > 25 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.", "data", "choices")
	}
	for i, c := range choices {
		if c == nil {
			continue
		}
		p := []string{"data", "choices", strconv.Itoa(i)}
		fe.lenBetween(c.Name, 1, 100, append(p, "name")...)
		if s, ok := c.Value.(string); ok {
			fe.lenBetween(s, 1, 100, append(p, "value")...)
		} else if c.Value == nil {
			fe.add("BASE_TYPE_REQUIRED", "This field is required", append(p, "value")...)
		}
	}
}

var commandNameRe = regexp.MustCompile(`^[-_\p{Ll}\p{Lo}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// validateCommand checks an application command definition.
func validateCommand(fe formErrors, c *discordgo.ApplicationCommand, prefix ...string) {
	at := func(k ...string) []string { return append(append([]string{}, prefix...), k...) }
	chat := c.Type == 0 || c.Type == discordgo.ChatApplicationCommand
	if chat {
		if !commandNameRe.MatchString(c.Name) {
			fe.add("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid", at("name")...)
		}
		fe.lenBetween(c.Description, 1, 100, at("description")...)
	} else {
		fe.lenBetween(c.Name, 1, 32, at("name")...)
	}
	validateOptions(fe, c.Options, at()...)
}

func validateOptions(fe formErrors, opts []*discordgo.ApplicationCommandOption, prefix ...string) {
	if len(opts) > 25 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.", append(prefix, "options")...)
	}
	seen := map[string]bool{}
	requiredDone := false
	for i, o := range opts {
		if o == nil {
			continue
		}
		p := append(append([]string{}, prefix...), "options", strconv.Itoa(i))
		at := func(k string) []string { return append(append([]string{}, p...), k) }
		if !commandNameRe.MatchString(o.Name) {
			fe.add("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid", at("name")...)
		}
		if seen[o.Name] {
			fe.add("APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique", at("name")...)
		}
		seen[o.Name] = true
		fe.lenBetween(o.Description, 1, 100, at("description")...)
		if o.Required && requiredDone {
			fe.add("APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options", at("required")...)
		}
		if !o.Required {
			requiredDone = true
		}
		if o.MaxLength > 6000 {
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 6000.", at("max_length")...)
		}
		if len(o.Choices) > 25 {
			fe.add("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.", at("choices")...)
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			fe.add("APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_CHOICES", "Autocomplete options cannot have choices", at("autocomplete")...)
		}
		if o.Type == discordgo.ApplicationCommandOptionSubCommand || o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			validateOptions(fe, o.Options, p...)
		}
	}
}
