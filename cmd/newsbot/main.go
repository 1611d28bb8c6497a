// Command newsbot posts a site's news to Discord and answers /related and
// /ask. See README.md and `newsbot help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/newsbot/newsbot/internal/app"
	"github.com/newsbot/newsbot/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv, err := config.Environ("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "newsbot:", err)
		os.Exit(2)
	}
	code := app.Main(ctx, os.Args[1:], app.IO{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     getenv,
		IsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	})
	stop()
	os.Exit(code)
}
