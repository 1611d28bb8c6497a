package bot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	dto "github.com/prometheus/client_model/go"
)

func httpResults(t *testing.T, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := interactionsHTTP.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// countingInteractor counts the interactions that reach the handler.
type countingInteractor struct{ n atomic.Int32 }

func (c *countingInteractor) Handle(context.Context, *discordgo.InteractionCreate) { c.n.Add(1) }

type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB) signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{pub, priv}
}

// request is a signed POST of body made at ts.
func (s signer) request(t testing.TB, url string, body []byte, ts time.Time) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(s.priv, append([]byte(stamp), body...))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	req.Header.Set("X-Signature-Timestamp", stamp)
	return req
}

func TestVerifySignature(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":1}`)
	sign := func(key ed25519.PrivateKey, ts time.Time, b []byte) (string, string) {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		return hex.EncodeToString(ed25519.Sign(key, append([]byte(stamp), b...))), stamp
	}
	good, stamp := sign(s.priv, now, body)
	if !Verify(s.pub, good, stamp, body, now) {
		t.Fatal("a valid signature does not verify")
	}
	if !Verify(s.pub, strings.ToUpper(good), stamp, body, now) {
		t.Error("upper-case hex does not verify")
	}
	within, wstamp := sign(s.priv, now.Add(-SignatureMaxSkew+time.Second), body)
	if !Verify(s.pub, within, wstamp, body, now) {
		t.Error("a signature 4m59s old does not verify")
	}
	otherSig, _ := sign(other.priv, now, body)
	stale, sstamp := sign(s.priv, now.Add(-SignatureMaxSkew-time.Second), body)
	future, fstamp := sign(s.priv, now.Add(SignatureMaxSkew+time.Second), body)
	flipped := []byte(good)
	flipped[0] ^= 1
	cases := []struct {
		name, sig, stamp string
		body             []byte
	}{
		{"other key", otherSig, stamp, body},
		{"body changed", good, stamp, []byte(`{"type":2}`)},
		{"timestamp changed", good, strconv.FormatInt(now.Unix()+1, 10), body},
		{"signature flipped", string(flipped), stamp, body},
		{"stale", stale, sstamp, body},
		{"future", future, fstamp, body},
		{"no signature", "", stamp, body},
		{"no timestamp", good, "", body},
		{"timestamp not a number", good, "yesterday", body},
		{"signature not hex", "zz" + good[2:], stamp, body},
		{"signature short", good[:100], stamp, body},
	}
	for _, tc := range cases {
		if Verify(s.pub, tc.sig, tc.stamp, tc.body, now) {
			t.Errorf("%s: verifies", tc.name)
		}
	}
}

// newEndpoint serves an HTTPInteractions whose handler only counts.
func newEndpoint(t *testing.T) (signer, *countingInteractor, string) {
	t.Helper()
	s := newSigner(t)
	h := &countingInteractor{}
	ix := NewHTTPInteractions(HTTPInteractionsOptions{PublicKey: s.pub, Responder: NewHTTPResponder(nil), Handler: h})
	srv := httptest.NewServer(ix)
	t.Cleanup(srv.Close)
	return s, h, srv.URL + InteractionsPath
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestInteractionsEndpointPing(t *testing.T) {
	s, h, url := newEndpoint(t)
	status, body := do(t, s.request(t, url, []byte(`{"id":"1","application_id":"2","type":1,"token":"t","version":1}`), time.Now()))
	if status != http.StatusOK || strings.TrimSpace(body) != `{"type":1}` {
		t.Errorf("PING answered %d %q, want 200 {\"type\":1}", status, body)
	}
	if h.n.Load() != 0 {
		t.Error("PING reached the handler")
	}
}

func TestInteractionsEndpointRefusals(t *testing.T) {
	s, h, url := newEndpoint(t)
	cmd := []byte(`{"id":"10","application_id":"2","type":2,"token":"itok","guild_id":"3","data":{"id":"4","name":"ping","type":1}}`)

	bad := s.request(t, url, cmd, time.Now())
	sig := []byte(bad.Header.Get("X-Signature-Ed25519"))
	sig[5] ^= 1
	bad.Header.Set("X-Signature-Ed25519", string(sig))

	other := newSigner(t)
	big := append([]byte(`{"type":2,"pad":"`), bytes.Repeat([]byte("x"), MaxInteractionBody)...)
	big = append(big, `"}`...)
	chunked := s.request(t, url, big, time.Now())
	chunked.ContentLength = -1 // no Content-Length: the limit is found while reading
	chunked.Body = io.NopCloser(bytes.NewReader(big))

	get, _ := http.NewRequest(http.MethodGet, url, nil)
	unauthorized, tooLarge := httpResults(t, "unauthorized"), httpResults(t, "too_large")
	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"bad signature", bad, http.StatusUnauthorized},
		{"signed by another key", other.request(t, url, cmd, time.Now()), http.StatusUnauthorized},
		{"stale timestamp", s.request(t, url, cmd, time.Now().Add(-6*time.Minute)), http.StatusUnauthorized},
		{"future timestamp", s.request(t, url, cmd, time.Now().Add(6*time.Minute)), http.StatusUnauthorized},
		{"body over 1 MiB", s.request(t, url, big, time.Now()), http.StatusRequestEntityTooLarge},
		{"body over 1 MiB, chunked", chunked, http.StatusRequestEntityTooLarge},
		{"signed garbage", s.request(t, url, []byte(`{"type":`), time.Now()), http.StatusBadRequest},
		{"GET", get, http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := do(t, tc.req); status != tc.want {
				t.Errorf("answered %d %q, want %d", status, body, tc.want)
			}
		})
	}
	if n := h.n.Load(); n != 0 {
		t.Errorf("%d refused requests reached the handler", n)
	}
	if d := httpResults(t, "unauthorized") - unauthorized; d != 4 {
		t.Errorf("newsbot_interactions_http_total{result=unauthorized} grew by %v, want 4", d)
	}
	if d := httpResults(t, "too_large") - tooLarge; d != 2 {
		t.Errorf("newsbot_interactions_http_total{result=too_large} grew by %v, want 2", d)
	}
	// A body of exactly 1 MiB is read (and refused for its signature only).
	exact := bytes.Repeat([]byte(" "), MaxInteractionBody)
	req := s.request(t, url, exact, time.Now())
	req.Header.Set("X-Signature-Timestamp", "1")
	if status, _ := do(t, req); status != http.StatusUnauthorized {
		t.Errorf("a 1 MiB body answered %d, want 401", status)
	}
}

// blockingInteractor holds each interaction until released, answering
// nothing.
type blockingInteractor struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingInteractor) Handle(ctx context.Context, _ *discordgo.InteractionCreate) {
	b.entered <- struct{}{}
	<-b.release
}

// TestInteractionsEndpointDuplicateAndUnanswered: the same interaction
// delivered again while being answered gets 409 and is not handled twice;
// a handler that returns without answering leaves the member an apology,
// not Discord's "interaction failed".
func TestInteractionsEndpointDuplicateAndUnanswered(t *testing.T) {
	s := newSigner(t)
	h := &blockingInteractor{entered: make(chan struct{}, 2), release: make(chan struct{})}
	ix := NewHTTPInteractions(HTTPInteractionsOptions{PublicKey: s.pub, Responder: NewHTTPResponder(nil), Handler: h, DeferAfter: time.Hour})
	srv := httptest.NewServer(ix)
	t.Cleanup(srv.Close)
	body := []byte(`{"id":"10","application_id":"2","type":2,"token":"itok","guild_id":"3","data":{"id":"4","name":"ping","type":1}}`)

	type result struct {
		status int
		body   string
	}
	first := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(s.request(t, srv.URL, body, time.Now()))
		if err != nil {
			first <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first <- result{resp.StatusCode, string(b)}
	}()
	<-h.entered
	if status, _ := do(t, s.request(t, srv.URL, body, time.Now())); status != http.StatusConflict {
		t.Errorf("second delivery answered %d, want 409", status)
	}
	close(h.release)
	r := <-first
	if r.status != http.StatusOK || !strings.Contains(r.body, `"type":4`) || !strings.Contains(r.body, "Sorry") || !strings.Contains(r.body, `"flags":64`) {
		t.Errorf("unanswered interaction: %d %s", r.status, r.body)
	}
	if len(h.entered) != 0 {
		t.Error("the duplicate reached the handler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ix.Close(ctx); err != nil {
		t.Error(err)
	}
}
