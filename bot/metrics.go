package bot

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics of the Discord side of the bot, on the default registry.
var (
	interactionsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_interactions_total",
		Help: "Interactions handled, by command and outcome (ok, error, panic, unknown, refused).",
	}, []string{"command", "outcome"})

	interactionSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "newsbot_interaction_duration_seconds",
		Help:    "Time from receiving an interaction to its handler returning, by command.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10},
	}, []string{"command"})

	gatewayReconnects = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_gateway_reconnects_total",
		Help: "Gateway connections re-established (resumed or re-identified) after a drop.",
	})

	gatewayConnected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "newsbot_gateway_connected",
		Help: "1 while the gateway websocket is connected.",
	})

	restRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_discord_rest_requests_total",
		Help: "Discord REST requests by method and status class (2xx, 4xx, 429, 5xx, error).",
	}, []string{"method", "status"})

	commandRegistrations = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_command_registrations_total",
		Help: "Bulk overwrites of the slash commands (only sent when they differ).",
	})

	leaderGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "newsbot_leader",
		Help: "1 while this instance leads (SQLite: always; PostgreSQL: while it holds the leader lock), 0 while it stands by.",
	})

	leaderTakeovers = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_leader_takeovers_total",
		Help: "Times this instance took the lead (PostgreSQL: took the leader lock, bumping the fencing epoch).",
	})
)

// SetLeader records whether this instance leads; a change to leading counts
// as a takeover.
func SetLeader(leading bool) {
	if leading {
		leaderGauge.Set(1)
		leaderTakeovers.Inc()
		return
	}
	leaderGauge.Set(0)
}

// countingTransport counts every Discord REST response by status class; it
// wraps the session's HTTP transport so no call site has to remember to.
type countingTransport struct{ next http.RoundTripper }

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	restRequests.WithLabelValues(req.Method, statusClass(resp, err)).Inc()
	return resp, err
}

func statusClass(resp *http.Response, err error) string {
	switch {
	case err != nil || resp == nil:
		return "error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "429"
	default:
		return strconv.Itoa(resp.StatusCode/100) + "xx"
	}
}
