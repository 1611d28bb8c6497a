package articles

import (
	"net"
	"net/url"
	"strings"
)

// trackingParams are query parameters that say where a reader came from, not
// what they read: they are dropped before links are compared or stored.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "msclkid": true, "yclid": true,
	"mc_cid": true, "mc_eid": true, "_hsenc": true, "_hsmi": true, "igshid": true,
	"ref_src": true, "spm": true, "mkt_tok": true, "oly_anon_id": true, "oly_enc_id": true,
	"vero_id": true, "wickedid": true, "__s": true, "_ga": true, "_gl": true,
}

func isTracking(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "utm_") || trackingParams[n]
}

// CleanURL returns an absolute http(s) link as newsbot stores and shows it:
// scheme and host lowercased, default port, credentials, fragment and
// tracking parameters removed, an empty path written "/". It returns "" for
// anything that is not an absolute http(s) URL.
func CleanURL(raw string) string {
	u := clean(raw)
	if u == nil {
		return ""
	}
	return u.String()
}

// CanonicalURL returns the form under which links are compared: CleanURL
// with the trailing slash of a longer path removed and a leading "www."
// dropped from the host, so that "/a/" and "/a", "www.site" and "site" name
// the same article.
func CanonicalURL(raw string) string {
	u := clean(raw)
	if u == nil {
		return ""
	}
	u.Host = strings.TrimPrefix(u.Host, "www.")
	if len(u.Path) > 1 && strings.HasSuffix(u.Path, "/") {
		u.Path = strings.TrimRight(u.Path, "/")
		if u.Path == "" {
			u.Path = "/"
		}
		u.RawPath = ""
	}
	return u.String()
}

func clean(raw string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	u.User = nil
	u.Host = strings.ToLower(u.Host)
	if (u.Scheme == "http" && strings.HasSuffix(u.Host, ":80")) || (u.Scheme == "https" && strings.HasSuffix(u.Host, ":443")) {
		u.Host = u.Host[:strings.LastIndexByte(u.Host, ':')]
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		q := u.Query()
		dropped := false
		for k := range q {
			if isTracking(k) {
				q.Del(k)
				dropped = true
			}
		}
		if dropped {
			u.RawQuery = q.Encode()
		}
	}
	u.ForceQuery = false
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return u
}

// SiteOf names the site a URL belongs to: its lowercased host without a
// leading "www." and without a port. It returns "" when raw has no host.
func SiteOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	h := strings.ToLower(u.Hostname())
	return strings.TrimPrefix(h, "www.")
}

// HostOf returns the host a request to raw would reach: SiteOf's name plus
// ":port" when raw names a port other than its scheme's default. Two servers
// of one name on other ports are other hosts: a member's link to one must
// not reach the other. "" when raw has no host.
func HostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	h := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if h == "" {
		return ""
	}
	port := u.Port()
	switch {
	case port == "":
	case port == "80" && strings.EqualFold(u.Scheme, "http"), port == "443" && strings.EqualFold(u.Scheme, "https"):
	default:
		h = net.JoinHostPort(h, port)
	}
	return h
}

// ResolveURL resolves ref against base and returns the clean form, or ""
// when the result is not an absolute http(s) URL.
func ResolveURL(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if b, err := url.Parse(strings.TrimSpace(base)); err == nil && b != nil {
		r = b.ResolveReference(r)
	}
	return CleanURL(r.String())
}
