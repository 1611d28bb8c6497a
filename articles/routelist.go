package articles

import "strings"

// A delivery records the routes that lead its article to its channel, and
// the roles they mention, as comma-separated lists (a route's name and a
// role id hold no comma): the stores keep them in a column each.

// AddToList adds name to the comma-separated list unless it is there or
// empty.
func AddToList(list, name string) string {
	if name == "" {
		return list
	}
	for _, n := range SplitList(list) {
		if n == name {
			return list
		}
	}
	if list == "" {
		return name
	}
	return list + "," + name
}

// SplitList returns the names of a comma-separated list; nil for "".
func SplitList(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// LiveRoutes tells which of a pending delivery's routes still lead to its
// channel.
type LiveRoutes map[liveRoute]Route

type liveRoute struct{ channel, name string }

// NewLiveRoutes indexes the configured routes.
func NewLiveRoutes(routes []Route) LiveRoutes {
	live := make(LiveRoutes, len(routes))
	for _, r := range routes {
		live[liveRoute{r.ChannelID, r.Name}] = r
	}
	return live
}

// Keep returns the routes of the list names that still lead to channel
// and the roles they mention as configured now; both "" when none does.
func (l LiveRoutes) Keep(channel, names string) (routes, roles string) {
	for _, n := range SplitList(names) {
		if r, ok := l[liveRoute{channel, n}]; ok {
			routes, roles = AddToList(routes, n), AddToList(roles, r.RoleID)
		}
	}
	return routes, roles
}
