package discordtest

import (
	"encoding/json"
	"strconv"

	"github.com/bwmarrin/discordgo"
)

type command = discordgo.ApplicationCommand

func copyCommand(c *command) *command {
	var out command
	if err := json.Unmarshal(mustJSON(c), &out); err != nil {
		panic(err)
	}
	return &out
}

// Commands returns the registered application commands of guildID ("" = global).
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*discordgo.ApplicationCommand{}
	for _, c := range s.cmds[guildID] {
		out = append(out, copyCommand(c))
	}
	return out
}

// SetCommands seeds registered commands of guildID ("" = global); ids are filled.
func (s *Server) SetCommands(guildID string, cmds []*discordgo.ApplicationCommand) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*command, 0, len(cmds))
	for _, c := range cmds {
		list = append(list, s.stampLocked(copyCommand(c), guildID, nil))
	}
	s.cmds[guildID] = list
	s.broadcastLocked()
}

// CommandWrites counts requests that changed guildID's commands ("" = global): bulk
// overwrites, creates, edits and deletes.
func (s *Server) CommandWrites(guildID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmdWr[guildID]
}

// stampLocked fills the server-side fields, keeping the id of an existing command with
// the same name and type.
func (s *Server) stampLocked(c *command, guildID string, old []*command) *command {
	if c.Type == 0 {
		c.Type = discordgo.ChatApplicationCommand
	}
	c.ApplicationID = ApplicationID
	c.GuildID = guildID
	c.ID = ""
	for _, o := range old {
		if o.Name == c.Name && o.Type == c.Type {
			c.ID = o.ID
		}
	}
	if c.ID == "" {
		c.ID = s.nextIDLocked()
	}
	c.Version = s.nextIDLocked()
	return c
}

// commandScopeLocked checks the application and guild of a commands route.
func (s *Server) commandScopeLocked(c *call) (string, *answer) {
	if c.v("app") != ApplicationID {
		a := errAnswer(403, 50001, "Missing Access")
		return "", &a
	}
	gid := c.v("gid")
	if gid != "" {
		if _, a := s.guildForBotLocked(gid); a != nil {
			if a.code == 10004 {
				return "", a
			}
			b := errAnswer(403, 50001, "Missing Access")
			return "", &b
		}
	}
	return gid, nil
}

func (s *Server) hListCommands(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	out := []*command{}
	out = append(out, s.cmds[gid]...)
	return jsonAnswer(200, out)
}

func (s *Server) hOverwriteCommands(c *call) answer {
	var defs []*command
	if _, _, err := parseBody(c, &defs); err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	fe := formErrors{}
	if len(defs) > 100 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
	seen := map[string]bool{}
	for i, d := range defs {
		if d == nil {
			fe.add("BASE_TYPE_REQUIRED", "This field is required", strconv.Itoa(i))
			continue
		}
		validateCommand(fe, d, strconv.Itoa(i))
		key := strconv.Itoa(int(d.Type)) + d.Name
		if d.Type == 0 {
			key = "1" + d.Name
		}
		if seen[key] {
			fe.add("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique", strconv.Itoa(i), "name")
		}
		seen[key] = true
	}
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	old := s.cmds[gid]
	list := make([]*command, 0, len(defs))
	for _, d := range defs {
		list = append(list, s.stampLocked(copyCommand(d), gid, old))
	}
	s.cmds[gid] = list
	s.cmdWr[gid]++
	s.broadcastLocked()
	return jsonAnswer(200, list)
}

func (s *Server) hCreateCommand(c *call) answer {
	var d command
	if _, _, err := parseBody(c, &d); err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	fe := formErrors{}
	validateCommand(fe, &d)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	old := s.cmds[gid]
	nc := s.stampLocked(copyCommand(&d), gid, old)
	status := 201
	replaced := false
	for i, o := range old {
		if o.ID == nc.ID {
			old[i] = nc
			replaced, status = true, 200
		}
	}
	if !replaced {
		s.cmds[gid] = append(old, nc)
	}
	s.cmdWr[gid]++
	s.broadcastLocked()
	return jsonAnswer(status, nc)
}

func (s *Server) findCommandLocked(gid, id string) (int, *answer) {
	for i, o := range s.cmds[gid] {
		if o.ID == id {
			return i, nil
		}
	}
	a := errAnswer(404, 10063, "Unknown application command")
	return -1, &a
}

func (s *Server) hGetCommand(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	i, a := s.findCommandLocked(gid, c.v("cmd"))
	if a != nil {
		return *a
	}
	return jsonAnswer(200, s.cmds[gid][i])
}

func (s *Server) hEditCommand(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	i, a := s.findCommandLocked(gid, c.v("cmd"))
	if a != nil {
		return *a
	}
	nc := copyCommand(s.cmds[gid][i])
	if err := json.Unmarshal(c.body, nc); err != nil {
		return badJSON()
	}
	fe := formErrors{}
	validateCommand(fe, nc)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	nc.ID = s.cmds[gid][i].ID
	nc.Version = s.nextIDLocked()
	s.cmds[gid][i] = nc
	s.cmdWr[gid]++
	s.broadcastLocked()
	return jsonAnswer(200, nc)
}

func (s *Server) hDeleteCommand(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, a := s.commandScopeLocked(c)
	if a != nil {
		return *a
	}
	i, a := s.findCommandLocked(gid, c.v("cmd"))
	if a != nil {
		return *a
	}
	s.cmds[gid] = append(s.cmds[gid][:i:i], s.cmds[gid][i+1:]...)
	s.cmdWr[gid]++
	s.broadcastLocked()
	return answer{status: 204}
}
