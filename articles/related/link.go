package related

// LinkQuery reports whether q is meant as a link (an http(s) URL, or
// "host.tld/path"), and returns it as an absolute URL.
func LinkQuery(q string) (string, bool) { return asURL(q) }
