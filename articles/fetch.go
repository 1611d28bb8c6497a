package articles

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultFetchTimeout bounds one whole fetch (connect, headers, body).
	DefaultFetchTimeout = 20 * time.Second
	// DefaultMaxBody is the largest body, after decompression, that a fetch
	// accepts.
	DefaultMaxBody = 10 << 20
	// maxRedirects is how many redirects a fetch follows.
	maxRedirects = 10
)

// ErrTooLarge is returned (wrapped) for a body over the Fetcher's cap.
var ErrTooLarge = errors.New("body too large")

// HTTPError is a response that is neither 2xx nor 304.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration // from a Retry-After header; 0 when none
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("fetcher: HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return strings.TrimSpace(s)
}

// Fetcher reads feeds and pages politely: a clear User-Agent, conditional
// requests, a timeout, a cap on the body size, gzip, a bounded number of
// redirects. Local paths and file: URLs are read from disk under the same
// cap. It is safe for concurrent use; set its fields before the first Fetch.
type Fetcher struct {
	Client    *http.Client
	Timeout   time.Duration // per fetch; 0: none beyond the client's and the context's
	MaxBody   int64         // bytes, after decompression
	UserAgent string
}

// NewFetcher returns a Fetcher that uses client, or, when client is nil, a
// client that follows at most 10 redirects. Either way a fetch takes at most
// DefaultFetchTimeout (a shorter client Timeout also applies).
func NewFetcher(client *http.Client) *Fetcher {
	f := &Fetcher{Client: client, Timeout: DefaultFetchTimeout, MaxBody: DefaultMaxBody, UserAgent: UserAgent()}
	if client == nil {
		f.Client = &http.Client{CheckRedirect: checkRedirect}
	}
	return f
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects { // via holds the first request and each redirect so far
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// FetchResult is what a fetch brought.
type FetchResult struct {
	URL          string // after redirects (a local file: its absolute path)
	Status       int
	NotModified  bool // 304: nothing changed since the validators given
	Body         []byte
	ETag         string
	LastModified string
	ContentType  string
	Header       http.Header
}

// IsLocal reports whether a feed location names a local file (a path or a
// file: URL) rather than an http(s) URL.
func IsLocal(raw string) bool {
	_, ok := localPath(raw)
	return ok
}

// localPath returns the absolute file path a location names, if it is local.
func localPath(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return "", false
	case strings.HasPrefix(lower, "file:"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", false
		}
		p := u.Path
		if p == "" {
			p = u.Opaque // file:relative/path
		}
		if p == "" {
			return "", false
		}
		abs, err := filepath.Abs(filepath.FromSlash(p))
		if err != nil {
			return "", false
		}
		return abs, true
	}
	if u, err := url.Parse(raw); err == nil && len(u.Scheme) > 1 {
		return "", false // another scheme (ftp:, gopher:): not ours
	}
	abs, err := filepath.Abs(raw)
	if err != nil {
		return "", false
	}
	return abs, true
}

// Fetch reads rawURL. etag and lastModified are the validators of an earlier
// fetch ("" when none): when the resource has not changed the result has
// NotModified set and no body. A response other than 2xx or 304 is an
// *HTTPError; a body over the cap is an error wrapping ErrTooLarge and is
// not returned.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, etag, lastModified string) (*FetchResult, error) {
	if p, ok := localPath(rawURL); ok {
		return f.readFile(p, etag)
	}
	if f.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(rawURL), nil)
	if err != nil {
		return nil, fmt.Errorf("fetcher: %w", err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = UserAgent()
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	// Accept-Encoding is left to the transport: it then asks for gzip and
	// decompresses transparently.
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetcher: %w", err)
	}
	defer resp.Body.Close()

	res := &FetchResult{
		URL:          resp.Request.URL.String(),
		Status:       resp.StatusCode,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		ContentType:  resp.Header.Get("Content-Type"),
		Header:       resp.Header,
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.NotModified = true
		// A 304 need not repeat the validators; the old ones still hold.
		if res.ETag == "" {
			res.ETag = etag
		}
		if res.LastModified == "" {
			res.LastModified = lastModified
		}
		return res, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return nil, &HTTPError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}

	max := f.maxBody()
	where := resp.Request.URL.Redacted() // for messages: no password
	if !resp.Uncompressed && resp.ContentLength > max {
		return nil, fmt.Errorf("fetcher: %s: %w (%d bytes, cap %d)", where, ErrTooLarge, resp.ContentLength, max)
	}
	var body io.Reader = resp.Body
	if !resp.Uncompressed && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		// gzip we did not ask for (a custom transport, or a server that
		// sends it anyway).
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("fetcher: %s: gzip: %w", where, err)
		}
		defer zr.Close()
		body = zr
	}
	res.Body, err = readCapped(body, max)
	if err != nil {
		return nil, fmt.Errorf("fetcher: %s: %w", where, err)
	}
	return res, nil
}

func (f *Fetcher) maxBody() int64 {
	if f.MaxBody > 0 {
		return f.MaxBody
	}
	return DefaultMaxBody
}

// readCapped reads r whole, or fails with ErrTooLarge once it passes max
// bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, max)
	}
	return b, nil
}

// readFile reads a local feed. Its size and modification time (to the
// nanosecond) make its ETag, so an unchanged file is NotModified.
func (f *Fetcher) readFile(path, etag string) (*FetchResult, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fetcher: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("fetcher: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("fetcher: %s is a directory", path)
	}
	res := &FetchResult{
		URL:          path,
		Status:       http.StatusOK,
		ETag:         fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()),
		LastModified: fi.ModTime().UTC().Format(http.TimeFormat),
	}
	if etag != "" && etag == res.ETag {
		res.NotModified, res.Status = true, http.StatusNotModified
		return res, nil
	}
	max := f.maxBody()
	if fi.Size() > max {
		return nil, fmt.Errorf("fetcher: %s: %w (%d bytes, cap %d)", path, ErrTooLarge, fi.Size(), max)
	}
	res.Body, err = readCapped(fh, max)
	if err != nil {
		return nil, fmt.Errorf("fetcher: %s: %w", path, err)
	}
	return res, nil
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
