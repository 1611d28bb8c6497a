package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Interactions over HTTP: with an Interactions Endpoint URL, Discord POSTs every
// interaction to it (none over the gateway), signed with the application's Ed25519 key,
// and takes the HTTP answer's body as the interaction response.

// WithInteractionsEndpoint makes the fake deliver interactions by HTTP POST to urls
// (round-robin, as a load balancer in front of several replicas would) instead of the
// gateway; GET /applications/@me reports urls[0] as interactions_endpoint_url.
func WithInteractionsEndpoint(urls ...string) Option {
	return func(c *config) { c.ixURLs = slices.Clone(urls) }
}

// ToEndpoint sends this interaction (or PING) to url, whatever the configured endpoints.
func ToEndpoint(url string) SpecOption { return func(s *InteractionSpec) { s.Endpoint = url } }

// BadSignature sends this interaction (or PING) with a signature that does not verify,
// as Discord does on purpose when an endpoint URL is saved.
func BadSignature() SpecOption { return func(s *InteractionSpec) { s.BadSignature = true } }

// StaleTimestamp signs this interaction (or PING) correctly with a timestamp age old.
func StaleTimestamp(age time.Duration) SpecOption {
	return func(s *InteractionSpec) { s.TimestampAge = age }
}

// Delivery is one interaction (or PING) POSTed to an endpoint, and its answer.
type Delivery struct {
	InteractionID string // "" for a PING
	URL           string
	Timestamp     string      // X-Signature-Timestamp sent (unix seconds, real clock)
	Signature     string      // X-Signature-Ed25519 sent (hex)
	Body          []byte      // the interaction as sent
	Done          bool        // the POST is over (answered, failed or timed out)
	Status        int         // HTTP status of the answer; 0 without one
	Header        http.Header // of the answer
	Answer        []byte      // body of the answer
	Err           string      // transport error or timeout, "" when answered
	// Accepted reports that the answer was taken as the interaction's response (see the
	// Exchange's Response; a refused one is in its Refused).
	Accepted bool
}

// Pong reports a 200 answer whose body is {"type":1}.
func (d Delivery) Pong() bool {
	var b struct {
		Type *int `json:"type"`
	}
	return d.Status == http.StatusOK && json.Unmarshal(d.Answer, &b) == nil && b.Type != nil && *b.Type == 1
}

func (d *Delivery) clone() Delivery {
	c := *d
	c.Body, c.Answer, c.Header = slices.Clone(d.Body), slices.Clone(d.Answer), d.Header.Clone()
	return c
}

// httpInteractions is the fake's interactions endpoint configuration and its deliveries.
// Fields are guarded by Server.mu, except key, client, ctx (set once) and wg.
type httpInteractions struct {
	key        ed25519.PrivateKey
	client     *http.Client
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	urls       []string
	next       int
	appURL     *string // what /applications/@me reports, when set apart from urls
	deliveries []*Delivery
}

func (x *httpInteractions) init(urls []string) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("discordtest: ed25519 key: %v", err))
	}
	x.key = priv
	x.client = &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	x.urls = urls
}

// stop cancels deliveries in flight and waits for them (Close).
func (x *httpInteractions) stop() {
	x.cancel()
	x.wg.Wait()
	x.client.CloseIdleConnections()
}

func (x *httpInteractions) publicKeyHex() string {
	return hex.EncodeToString(x.key.Public().(ed25519.PublicKey))
}

func (x *httpInteractions) appURLLocked() any {
	u := ""
	if x.appURL != nil {
		u = *x.appURL
	} else if len(x.urls) > 0 {
		u = x.urls[0]
	}
	if u == "" {
		return nil
	}
	return u
}

// PublicKey is the application's public key, hex encoded (the portal's "Public Key",
// DISCORD_PUBLIC_KEY): every HTTP delivery is signed with its private half.
func (s *Server) PublicKey() string { return s.ix.publicKeyHex() }

// SetInteractionsEndpoint switches delivery of interactions to HTTP POSTs to urls
// (round-robin), or back to the gateway with none. See WithInteractionsEndpoint.
func (s *Server) SetInteractionsEndpoint(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ix.urls, s.ix.next = slices.Clone(urls), 0
	s.broadcastLocked()
}

// SetApplicationEndpointURL sets what GET /applications/@me reports as
// interactions_endpoint_url ("" reports null) without changing where interactions go.
func (s *Server) SetApplicationEndpointURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ix.appURL = &url
	s.broadcastLocked()
}

// Deliveries returns every HTTP delivery (interactions and PINGs), in the order sent.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.ix.deliveries))
	for _, d := range s.ix.deliveries {
		out = append(out, d.clone())
	}
	return out
}

// WaitDelivered waits until an interaction's HTTP delivery is over and returns it.
func (s *Server) WaitDelivered(ctx context.Context, interactionID string) (Delivery, error) {
	ex, err := s.WaitExchange(ctx, interactionID, func(e Exchange) bool { return e.Delivery != nil && e.Delivery.Done })
	if err != nil {
		return Delivery{}, err
	}
	return *ex.Delivery, nil
}

// httpModeLocked reports whether spec goes to an HTTP endpoint.
func (s *Server) httpModeLocked(spec *InteractionSpec) bool {
	return spec.Endpoint != "" || len(s.ix.urls) > 0
}

// newDeliveryLocked picks the endpoint, signs body and records the delivery.
func (s *Server) newDeliveryLocked(spec *InteractionSpec, interactionID string, body []byte) (*Delivery, error) {
	url := spec.Endpoint
	if url == "" {
		if len(s.ix.urls) == 0 {
			return nil, errors.New("discordtest: no interactions endpoint set")
		}
		url = s.ix.urls[s.ix.next%len(s.ix.urls)]
		s.ix.next++
	}
	ts := strconv.FormatInt(time.Now().Add(-spec.TimestampAge).Unix(), 10)
	sig := ed25519.Sign(s.ix.key, append([]byte(ts), body...))
	if spec.BadSignature {
		sig[0] ^= 0xff
	}
	d := &Delivery{InteractionID: interactionID, URL: url, Timestamp: ts, Signature: hex.EncodeToString(sig), Body: slices.Clone(body)}
	s.ix.deliveries = append(s.ix.deliveries, d)
	return d, nil
}

// deliverLocked POSTs an interaction in the background; its answer becomes the
// interaction's response as a REST callback would.
func (s *Server) deliverLocked(ex *exchange, spec *InteractionSpec, body []byte) error {
	d, err := s.newDeliveryLocked(spec, ex.it.ID, body)
	if err != nil {
		return err
	}
	ex.delivery = d
	s.ix.wg.Add(1)
	go func() {
		defer s.ix.wg.Done()
		s.post(s.ix.ctx, d, ex)
	}()
	return nil
}

// post sends d and records its answer; with ex, the answer is taken as ex's response.
// The endpoint has the interaction deadline (real time) to answer.
func (s *Server) post(ctx context.Context, d *Delivery, ex *exchange) {
	s.mu.Lock()
	deadline := s.cfg.deadline
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	status, header, answerBody, err := s.send(ctx, d)

	s.mu.Lock()
	defer s.mu.Unlock()
	d.Done, d.Status, d.Header, d.Answer = true, status, header, answerBody
	if err != nil {
		d.Err = err.Error()
	}
	s.logf("interaction POST %s -> %d %s %s", d.URL, status, truncate(string(answerBody), 300), d.Err)
	if ex != nil && err == nil && status >= 200 && status < 300 {
		var cb callbackBody
		raw, files, perr := decodeBody(header.Get("Content-Type"), answerBody, &cb)
		var a answer
		if perr != nil || len(bytes.TrimSpace(answerBody)) == 0 {
			a = s.refuse(ex, raw, badJSON())
		} else {
			a = s.callbackLocked(ex, &cb, raw, files)
		}
		d.Accepted = a.status < 300
	}
	s.broadcastLocked()
}

// send performs the signed POST of d.
func (s *Server) send(ctx context.Context, d *Delivery) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Ed25519", d.Signature)
	req.Header.Set("X-Signature-Timestamp", d.Timestamp)
	resp, err := s.ix.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, resp.Header, b, err
}

// Ping POSTs a PING (type 1) to the endpoint (ToEndpoint, or the next configured one),
// signed unless BadSignature, and returns the delivery once answered. A conforming
// endpoint answers 200 {"type":1} (Delivery.Pong), and 401 to a bad signature.
func (s *Server) Ping(ctx context.Context, opts ...SpecOption) (Delivery, error) {
	spec := InteractionSpec{}.With(opts...)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Delivery{}, errors.New("discordtest: ping: server closed")
	}
	id := s.nextIDLocked()
	body := mustJSON(map[string]any{"id": id, "application_id": ApplicationID, "type": 1, "token": "itok-" + id,
		"version": 1, "user": s.userObjectLocked(OwnerUserID)})
	d, err := s.newDeliveryLocked(&spec, "", body)
	s.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	s.post(ctx, d, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.clone(), nil
}

// ValidateEndpoint checks url as Discord does before saving it as the Interactions
// Endpoint URL: a signed PING must get 200 {"type":1} and a PING with a bad signature
// must get 401. It returns nil when both hold.
func (s *Server) ValidateEndpoint(ctx context.Context, url string) error {
	good, err := s.Ping(ctx, ToEndpoint(url))
	if err != nil {
		return err
	}
	if !good.Pong() {
		return fmt.Errorf("discordtest: endpoint %s: PING answered %d %q %s, want 200 {\"type\":1}", url, good.Status, good.Answer, good.Err)
	}
	bad, err := s.Ping(ctx, ToEndpoint(url), BadSignature())
	if err != nil {
		return err
	}
	if bad.Status != http.StatusUnauthorized {
		return fmt.Errorf("discordtest: endpoint %s: a PING with a bad signature answered %d, want 401", url, bad.Status)
	}
	return nil
}
