package articles

// Version is newsbot's version, set at build time with
// -ldflags "-X github.com/newsbot/newsbot/articles.Version=v1.2.3".
var Version = "dev"

// UserAgent is the User-Agent newsbot sends with every request it makes to a
// site.
func UserAgent() string {
	return "newsbot/" + Version + " (+https://github.com/newsbot/newsbot)"
}
