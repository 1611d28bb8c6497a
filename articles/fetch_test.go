package articles

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const tinyFeed = `<?xml version="1.0"?><rss version="2.0"><channel><title>Tiny</title><link>https://tiny.example/</link>
<item><title>One</title><link>https://tiny.example/1</link><guid>https://tiny.example/1</guid><pubDate>Mon, 02 Sep 2024 09:00:00 GMT</pubDate></item>
<item><title>Two</title><link>https://tiny.example/2</link><guid>https://tiny.example/2</guid><pubDate>Tue, 03 Sep 2024 09:00:00 GMT</pubDate></item>
</channel></rss>`

func TestFetchConditional(t *testing.T) {
	const etag, lastMod = `"v1"`, "Mon, 02 Sep 2024 09:00:00 GMT"
	var requests []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Header.Clone())
		if r.Header.Get("If-None-Match") == etag && r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()

	f := NewFetcher(nil)
	ctx := context.Background()
	res, err := f.Fetch(ctx, srv.URL+"/feed", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || res.Status != 200 || string(res.Body) != tinyFeed {
		t.Fatalf("first fetch: %+v", res)
	}
	if res.ETag != etag || res.LastModified != lastMod || res.ContentType != "application/rss+xml" || res.URL != srv.URL+"/feed" {
		t.Errorf("validators: %+v", res)
	}
	res, err = f.Fetch(ctx, srv.URL+"/feed", res.ETag, res.LastModified)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Status != 304 || res.Body != nil || res.ETag != etag || res.LastModified != lastMod {
		t.Errorf("second fetch: %+v", res)
	}
	if len(requests) != 2 {
		t.Fatalf("requests = %d", len(requests))
	}
	if h := requests[0]; h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("first request sent validators: %v", h)
	}
	if ua := requests[0].Get("User-Agent"); ua != "newsbot/"+Version+" (+https://github.com/newsbot/newsbot)" {
		t.Errorf("User-Agent = %q", ua)
	}
	if !strings.Contains(requests[0].Get("Accept-Encoding"), "gzip") {
		t.Errorf("Accept-Encoding = %q, want gzip", requests[0].Get("Accept-Encoding"))
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	retryAt := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/503":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/429":
			w.Header().Set("Retry-After", retryAt)
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := NewFetcher(nil)
	for _, c := range []struct {
		path   string
		status int
		min    time.Duration
		max    time.Duration
	}{
		{"/500", 500, 0, 0},
		{"/404", 404, 0, 0},
		{"/503", 503, 120 * time.Second, 120 * time.Second},
		{"/429", 429, time.Hour, 2 * time.Hour},
	} {
		t.Run(c.path, func(t *testing.T) {
			res, err := f.Fetch(context.Background(), srv.URL+c.path, "", "")
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v (%T), res = %+v; want *HTTPError", err, err, res)
			}
			if he.Status != c.status || he.RetryAfter < c.min || he.RetryAfter > c.max {
				t.Errorf("HTTPError = %+v, want status %d, retry after in [%v, %v]", he, c.status, c.min, c.max)
			}
			if !strings.HasPrefix(err.Error(), "fetcher: HTTP "+strconv.Itoa(c.status)) {
				t.Errorf("message %q", err)
			}
		})
	}
}

// hangServer answers nothing until the test ends.
func hangServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: unblocks handlers before Close waits for them
	return srv
}

func TestFetchTimeout(t *testing.T) {
	srv := hangServer(t)
	t.Run("client timeout", func(t *testing.T) {
		f := NewFetcher(&http.Client{Timeout: 50 * time.Millisecond})
		_, err := f.Fetch(context.Background(), srv.URL, "", "")
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
	t.Run("fetcher timeout", func(t *testing.T) {
		f := NewFetcher(nil)
		f.Timeout = 50 * time.Millisecond
		_, err := f.Fetch(context.Background(), srv.URL, "", "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := NewFetcher(nil).Fetch(ctx, srv.URL, "", "")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want canceled", err)
		}
	})
}

func TestFetchBodyCap(t *testing.T) {
	const max = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		body := bytes.Repeat([]byte("x"), n)
		switch r.URL.Path {
		case "/chunked": // no Content-Length: the cap applies while reading
			w.(http.Flusher).Flush()
			w.Write(body)
		case "/gzip": // small on the wire, large once decompressed
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				t.Errorf("gzip not accepted")
			}
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(body)
			zw.Close()
		default:
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(body)
		}
	}))
	defer srv.Close()
	f := NewFetcher(nil)
	f.MaxBody = max
	for _, path := range []string{"/plain", "/chunked", "/gzip"} {
		t.Run(path, func(t *testing.T) {
			res, err := f.Fetch(context.Background(), srv.URL+path+"?n="+strconv.Itoa(max), "", "")
			if err != nil || len(res.Body) != max {
				t.Fatalf("at the cap: err = %v", err)
			}
			res, err = f.Fetch(context.Background(), srv.URL+path+"?n="+strconv.Itoa(max+1), "", "")
			if !errors.Is(err, ErrTooLarge) || res != nil {
				t.Fatalf("over the cap: res = %v, err = %v; want ErrTooLarge", res, err)
			}
		})
	}
}

func TestFetchGzip(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Sent compressed whatever the request said.
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz(tinyFeed))
	}))
	defer srv.Close()
	for name, client := range map[string]*http.Client{
		"transport decompresses": nil,
		"fetcher decompresses":   {Transport: &http.Transport{DisableCompression: true}},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := NewFetcher(client).Fetch(context.Background(), srv.URL, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Body) != tinyFeed {
				t.Errorf("body = %q", res.Body)
			}
		})
	}
}

func TestFetchRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if n > 0 {
			http.Redirect(w, r, "/r/"+strconv.Itoa(n-1), http.StatusFound)
			return
		}
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()
	f := NewFetcher(nil)
	res, err := f.Fetch(context.Background(), srv.URL+"/r/10", "", "")
	if err != nil {
		t.Fatalf("10 redirects: %v", err)
	}
	if res.URL != srv.URL+"/r/0" {
		t.Errorf("final URL = %q", res.URL)
	}
	if _, err := f.Fetch(context.Background(), srv.URL+"/r/11", "", ""); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("11 redirects: err = %v", err)
	}
}

func TestFetchLocal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(path, []byte(tinyFeed), 0o644); err != nil {
		t.Fatal(err)
	}
	f := NewFetcher(nil)
	ctx := context.Background()
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	for _, loc := range []string{path, fileURL} {
		res, err := f.Fetch(ctx, loc, "", "")
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if string(res.Body) != tinyFeed || res.URL != path || res.ETag == "" {
			t.Errorf("%s: %+v", loc, res)
		}
		again, err := f.Fetch(ctx, loc, res.ETag, res.LastModified)
		if err != nil || !again.NotModified {
			t.Errorf("%s unchanged: %+v, %v; want NotModified", loc, again, err)
		}
	}
	if !IsLocal(path) || !IsLocal(fileURL) || IsLocal("https://x.example/feed") || IsLocal("ftp://x.example/feed") {
		t.Error("IsLocal misjudges")
	}
	f.MaxBody = 10
	if _, err := f.Fetch(ctx, path, "", ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v", err)
	}
	if _, err := f.Fetch(ctx, filepath.Join(dir, "missing.xml"), "", ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		"-5":                            0,
		"soon":                          0,
		"Sun, 01 Sep 2024 13:00:00 GMT": time.Hour,
		"Sun, 01 Sep 2024 11:00:00 GMT": 0,
	} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
