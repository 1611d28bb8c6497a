package commands

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	askQuestions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_ask_questions_total",
		Help: "/ask questions by outcome of the command: sent, queued, refused (empty or too long), limited, blocked.",
	}, []string{"outcome"})
	askForwards = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_ask_forwards_total",
		Help: "Attempts to forward a question to the team channel, by result: sent, found (an earlier attempt had reached Discord), failed.",
	}, []string{"result"})
	askAnswers = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_ask_answers_total",
		Help: "Answer delivery attempts by result: dm, thread, channel, retry (transient failure), failed (undeliverable).",
	}, []string{"result"})
)
