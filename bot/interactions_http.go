package bot

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/newsbot/newsbot/commands"
)

// Interactions over HTTP (design.md "Several instances"): with an
// Interactions Endpoint URL, Discord POSTs every interaction to it, signed
// with the application's Ed25519 key, and takes the HTTP answer's body as
// the interaction's response. Follow-ups and edits still go by webhook REST.

// InteractionsPath is where the endpoint is served.
const InteractionsPath = "/interactions"

const (
	// MaxInteractionBody is the largest interaction body read (413 beyond).
	MaxInteractionBody = 1 << 20
	// SignatureMaxSkew is how far X-Signature-Timestamp may be from now.
	SignatureMaxSkew = 5 * time.Minute
	// DefaultDeferAfter is how long a handler has to answer in the HTTP
	// response before it is answered deferred for it (Discord waits 3 s).
	DefaultDeferAfter = 2 * time.Second
	// interactionWriteTimeout bounds writing one answer.
	interactionWriteTimeout = 10 * time.Second
)

var interactionsHTTP = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "newsbot_interactions_http_total",
	Help: "Interaction requests over HTTP by result (pong, answered, deferred, unanswered, gone, unauthorized, too_large, bad_request, duplicate).",
}, []string{"result"})

// Interactor answers one interaction (a *Router).
type Interactor interface {
	Handle(ctx context.Context, i *discordgo.InteractionCreate)
}

// HTTPInteractionsOptions configure NewHTTPInteractions.
type HTTPInteractionsOptions struct {
	PublicKey ed25519.PublicKey // DISCORD_PUBLIC_KEY
	Responder *HTTPResponder    // the one the handlers answer through
	Handler   Interactor        // usually the Router built on Responder
	Log       *slog.Logger
	// DeferAfter: DefaultDeferAfter when 0.
	DeferAfter time.Duration
	// Now is the clock the timestamps are checked against (time.Now).
	Now func() time.Time
}

// HTTPInteractions is the http.Handler of POST /interactions. It needs no
// gateway session: answers go in the HTTP responses and follow-ups by
// webhook REST, which needs only the token.
type HTTPInteractions struct {
	o      HTTPInteractionsOptions
	log    *slog.Logger
	base   context.Context // handlers' context, ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewHTTPInteractions returns the endpoint's handler.
func NewHTTPInteractions(o HTTPInteractionsOptions) *HTTPInteractions {
	if len(o.PublicKey) != ed25519.PublicKeySize {
		panic("bot: NewHTTPInteractions without a valid public key")
	}
	if o.Responder == nil || o.Handler == nil {
		panic("bot: NewHTTPInteractions without a responder or a handler")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.DeferAfter <= 0 {
		o.DeferAfter = DefaultDeferAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &HTTPInteractions{o: o, log: o.Log}
	h.base, h.cancel = context.WithCancel(context.Background())
	return h
}

// Close lets the handlers in flight finish (until ctx ends), then cancels
// their context.
func (h *HTTPInteractions) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.cancel()
	return err
}

// Verify reports whether sig (hex) signs timestamp + body with key and
// timestamp (unix seconds) is within SignatureMaxSkew of now.
func Verify(key ed25519.PublicKey, sig, timestamp string, body []byte, now time.Time) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureMaxSkew || d < -SignatureMaxSkew {
		return false
	}
	s, err := hex.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize || len(key) != ed25519.PublicKeySize {
		return false
	}
	msg := make([]byte, 0, len(timestamp)+len(body))
	msg = append(append(msg, timestamp...), body...)
	return ed25519.Verify(key, msg, s)
}

func (h *HTTPInteractions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxInteractionBody {
		interactionsHTTP.WithLabelValues("too_large").Inc()
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInteractionBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			interactionsHTTP.WithLabelValues("too_large").Inc()
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		interactionsHTTP.WithLabelValues("bad_request").Inc()
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	// The signature is checked on the raw bytes, before anything is parsed.
	if !Verify(h.o.PublicKey, r.Header.Get("X-Signature-Ed25519"), r.Header.Get("X-Signature-Timestamp"), body, h.o.Now()) {
		interactionsHTTP.WithLabelValues("unauthorized").Inc()
		h.log.Debug("interaction refused: bad or stale signature", "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.InteractionCreate
	if err := json.Unmarshal(body, &i); err != nil || i.Interaction == nil {
		interactionsHTTP.WithLabelValues("bad_request").Inc()
		h.log.Warn("interaction refused: not an interaction", "error", err)
		http.Error(w, "not an interaction", http.StatusBadRequest)
		return
	}
	if i.Type == discordgo.InteractionPing {
		interactionsHTTP.WithLabelValues("pong").Inc()
		writeInteractionJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
		return
	}
	if i.ID == "" || i.Token == "" {
		interactionsHTTP.WithLabelValues("bad_request").Inc()
		http.Error(w, "interaction without id or token", http.StatusBadRequest)
		return
	}
	h.serve(w, r, &i)
}

// serve runs the handler in its own goroutine (it may go on with follow-ups
// after the HTTP answer) and answers with whatever comes first: the
// handler's own answer, a deferral when it takes too long, or a fallback
// when it returns without answering.
func (h *HTTPInteractions) serve(w http.ResponseWriter, r *http.Request, i *discordgo.InteractionCreate) {
	ex := h.o.Responder.begin(i.Interaction)
	if ex == nil {
		interactionsHTTP.WithLabelValues("duplicate").Inc()
		h.log.Warn("interaction delivered again while being answered", "interaction_id", i.ID)
		http.Error(w, "interaction already being answered", http.StatusConflict)
		return
	}
	done := make(chan struct{})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.o.Responder.end(i.ID)
		defer close(done)
		h.o.Handler.Handle(h.base, i)
	}()
	t := time.NewTimer(h.o.DeferAfter)
	defer t.Stop()
	// Bound this request's write so a client that stops reading cannot
	// hold the handler waiting in InteractionRespond.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.o.DeferAfter + interactionWriteTimeout))

	var a httpAnswer
	select {
	case a = <-ex.answers:
		interactionsHTTP.WithLabelValues("answered").Inc()
	case <-t.C:
		var ok bool
		if a, ok = ex.settle(stateDeferred); !ok {
			interactionsHTTP.WithLabelValues("deferred").Inc()
			h.log.Info("interaction answered deferred: its handler is slow", "interaction_id", i.ID, "after", h.o.DeferAfter)
			writeInteractionJSON(w, ex.deferral)
			return
		}
		interactionsHTTP.WithLabelValues("answered").Inc()
	case <-done:
		var ok bool
		if a, ok = ex.settle(stateUnanswered); !ok {
			interactionsHTTP.WithLabelValues("unanswered").Inc()
			h.log.Error("interaction handler returned without answering", "interaction_id", i.ID)
			writeInteractionJSON(w, fallbackAnswer(i.Type))
			return
		}
		interactionsHTTP.WithLabelValues("answered").Inc()
	case <-r.Context().Done():
		var ok bool
		if a, ok = ex.settle(stateGone); !ok {
			interactionsHTTP.WithLabelValues("gone").Inc()
			h.log.Warn("interaction request ended before its answer", "interaction_id", i.ID)
			return
		}
		a.written <- errors.New("the interaction request ended before the answer")
		return
	}
	a.written <- writeInteractionJSON(w, a.resp)
}

// writeInteractionJSON writes resp as the 200 answer, as discordgo would
// have POSTed it to the callback route.
func writeInteractionJSON(w http.ResponseWriter, resp *discordgo.InteractionResponse) error {
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return fmt.Errorf("encoding the interaction answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing the interaction answer: %w", err)
	}
	return nil
}

// fallbackAnswer answers for a handler that returned without answering.
func fallbackAnswer(t discordgo.InteractionType) *discordgo.InteractionResponse {
	if t == discordgo.InteractionApplicationCommandAutocomplete {
		return emptyChoices()
	}
	return commands.Ephemeral(commands.UserMessage(errors.New("unanswered")))
}

func emptyChoices() *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
	}
}

// ServeInteractions serves handler on ln until ctx ends, then shuts the
// server down (in-flight requests get up to grace). It needs no gateway.
func ServeInteractions(ctx context.Context, ln net.Listener, handler http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && log != nil {
			log.Warn("http server: requests still running at shutdown", "error", err)
		}
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
		return err
	}
	<-stopped
	return nil
}
