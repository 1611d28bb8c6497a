package archive

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricState = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "newsbot_backfill_state",
		Help: "Backfill state of a feed's site: 1 for the current state (pending, running, done, none, error).",
	}, []string{"feed_url", "state"})
	metricStored = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "newsbot_backfill_articles",
		Help: "Articles pulled from a site's archive so far, per feed (all runs).",
	}, []string{"feed_url"})
	metricNew = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_backfill_articles_new_total",
		Help: "Articles the backfill stored that the store did not hold, per site.",
	}, []string{"site"})
	metricPages = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_backfill_pages_total",
		Help: "Archive pages read, per site and result (ok, error).",
	}, []string{"site", "result"})
	metricRequests = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_backfill_requests_total",
		Help: "HTTP requests sent by the archive (backfill and page reads).",
	})
	metricWaits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_backfill_waits_total",
		Help: "Pauses longer than the pace: Retry-After obeyed, back-off after a failure.",
	})
	metricFullText = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_fulltext_pages_total",
		Help: "Article pages read for their text, by result (ok, failed).",
	}, []string{"result"})
)
