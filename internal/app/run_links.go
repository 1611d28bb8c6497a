package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
)

// linkFailureMemory is how long a page that could not be read is not read
// again.
var linkFailureMemory = time.Hour

// linkReadTimeout bounds one unknown link's read, waits for the site's pace
// and retries included (the deferred answer may come up to 15 minutes
// later; a member should not wait that long).
var linkReadTimeout = 45 * time.Second

// linkReader answers /related's links that name no stored article
// (commands.LinkReader): a page on a site's host is read once with the
// archive, stored as an archive article of that site (never posted) and
// indexed; any other host is never requested.
type linkReader struct {
	r   *runner
	now func() time.Time
	mu  sync.Mutex // one read at a time: the same link asked twice is read once
}

var _ commands.LinkReader = (*linkReader)(nil)

// siteHosts maps the sites' hosts to their sites: the hosts of the feed URLs
// and of the links of articles stored from feeds ("www." ignored).
func (l *linkReader) siteHosts(ctx context.Context) (map[string]string, error) {
	hosts, err := l.r.db.SiteHosts(ctx)
	if err != nil {
		return nil, err
	}
	states, err := l.r.db.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	siteOf := map[string]string{}
	for _, f := range states {
		siteOf[f.URL] = f.Site
	}
	for _, u := range l.r.cfg.FeedURLs {
		if articles.IsLocal(u) {
			continue
		}
		h := articles.HostOf(u)
		if _, ok := hosts[h]; ok || h == "" {
			continue
		}
		if s := siteOf[u]; s != "" {
			hosts[h] = s
		} else {
			hosts[h] = h
		}
	}
	return hosts, nil
}

// Classify says what rawURL is to the bot, without any request to it.
func (l *linkReader) Classify(ctx context.Context, rawURL string) (commands.LinkKind, error) {
	hosts, err := l.siteHosts(ctx)
	if err != nil {
		return 0, err
	}
	if _, ok := hosts[articles.HostOf(rawURL)]; !ok {
		return commands.LinkOffSite, nil
	}
	if !l.r.cfg.FullText || l.r.archive == nil || homePage(rawURL) {
		return commands.LinkUnreadable, nil
	}
	failed, err := l.r.db.LinkFailed(ctx, articles.CanonicalURL(rawURL), l.now())
	if err != nil {
		return 0, err
	}
	if failed {
		return commands.LinkUnreadable, nil
	}
	return commands.LinkReadable, nil
}

// ReadLink reads the page, stores it and brings the index up to date.
func (l *linkReader) ReadLink(ctx context.Context, rawURL string) (articles.Article, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Asked twice at once: the first read stored it.
	if a, err := l.r.db.ArticleByURL(ctx, rawURL); err == nil {
		return a, l.r.syncIndex(ctx)
	}
	if kind, err := l.Classify(ctx, rawURL); err != nil {
		return articles.Article{}, err
	} else if kind != commands.LinkReadable {
		return articles.Article{}, commands.ErrLinkUnreadable
	}
	hosts, err := l.siteHosts(ctx)
	if err != nil {
		return articles.Article{}, err
	}
	readCtx, cancel := context.WithTimeout(ctx, linkReadTimeout)
	defer cancel()
	art, err := l.r.archive.ReadPage(readCtx, rawURL, func(h string) bool { _, ok := hosts[h]; return ok })
	if err != nil {
		if ctx.Err() != nil {
			return articles.Article{}, ctx.Err() // stopping: not the page's fault
		}
		now := l.now()
		if rerr := l.r.db.RecordLinkFailure(ctx, articles.CanonicalURL(rawURL), oneLine(err.Error()), now, now.Add(linkFailureMemory)); rerr != nil {
			return articles.Article{}, rerr
		}
		l.r.log.Info("related: could not read a linked page", "site", articles.SiteOf(rawURL), "error", err)
		return articles.Article{}, fmt.Errorf("%w: %w", commands.ErrLinkUnreadable, err)
	}
	art.Site = hosts[articles.HostOf(art.URL)]
	if art.Site == "" {
		art.Site = articles.SiteOf(art.URL)
	}
	art.FirstSeen = l.now()
	if _, err := l.r.db.StoreArchived(ctx, []articles.Article{art}); err != nil {
		return articles.Article{}, err
	}
	if err := l.r.syncIndex(ctx); err != nil {
		return articles.Article{}, err
	}
	stored, err := l.r.db.ArticleByURL(ctx, art.URL)
	if errors.Is(err, articles.ErrNotFound) {
		return art, nil
	}
	return stored, err
}

// homePage reports whether rawURL is a site's front page (no path, no
// query): never an article, not worth a request.
func homePage(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == ""
}
