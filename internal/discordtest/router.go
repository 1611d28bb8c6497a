package discordtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
)

// HTTP plumbing: routing, faults and holds around handlers, answers, bodies.

// answer is what a handler produced.
type answer struct {
	status int
	body   []byte
	code   int
	header http.Header
}

// apiError is a Discord error answer.
type apiError struct {
	Status  int             `json:"-"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors,omitempty"`
}

func errAnswer(status, code int, msg string) answer {
	b, _ := json.Marshal(apiError{Code: code, Message: msg})
	return answer{status: status, body: b, code: code}
}

func jsonAnswer(status int, v any) answer {
	if v == nil {
		return answer{status: status}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errAnswer(500, 0, "500: Internal Server Error")
	}
	return answer{status: status, body: b}
}

// call is one REST request being served.
type call struct {
	r      *http.Request
	path   string
	body   []byte
	values map[string]string // path parameters
}

func (c *call) v(name string) string { return c.values[name] }

type handlerFunc func(c *call) answer

type route struct {
	method   string
	segs     []string
	noAuth   bool
	bucket   string
	h        handlerFunc
	template string
}

func (s *Server) handle(method, tmpl string, h handlerFunc) {
	s.addRoute(method, tmpl, false, h)
}

func (s *Server) addRoute(method, tmpl string, noAuth bool, h handlerFunc) {
	s.rts = append(s.rts, route{method: method, segs: strings.Split(strings.Trim(tmpl, "/"), "/"), noAuth: noAuth, h: h, template: tmpl})
}

// find returns the most specific route for method and path (literal segments beat
// parameters), or nil and whether the path exists for another method.
func (s *Server) find(method, p string) (*route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var best *route
	var bestVals map[string]string
	bestScore := -1
	pathExists := false
	for i := range s.rts {
		rt := &s.rts[i]
		if len(rt.segs) != len(segs) {
			continue
		}
		vals := map[string]string{}
		score := 0
		ok := true
		for j, sg := range rt.segs {
			if strings.HasPrefix(sg, "{") {
				vals[strings.Trim(sg, "{}")] = segs[j]
				continue
			}
			if sg != segs[j] {
				ok = false
				break
			}
			score++
		}
		if !ok {
			continue
		}
		pathExists = true
		if rt.method != method {
			continue
		}
		if score > bestScore {
			best, bestVals, bestScore = rt, vals, score
		}
	}
	return best, bestVals, pathExists
}

const apiPrefix = "/api/v9"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gw" || strings.HasPrefix(r.URL.Path, "/gw/") {
		s.serveGateway(w, r)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, apiPrefix+"/") {
		writeAnswer(w, errAnswer(404, 0, "404: Not Found"), nil)
		return
	}
	p = strings.TrimPrefix(p, apiPrefix)
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	auth := r.Header.Get("Authorization")

	s.mu.Lock()
	rec := Request{
		Method: r.Method, Path: p, Query: r.URL.Query(), Header: r.Header.Clone(),
		HasAuth: auth != "", Authorized: auth == "Bot "+s.token, Body: body, At: s.nowLocked(),
	}
	s.mu.Unlock()

	rt, vals, exists := s.find(r.Method, p)
	c := &call{r: r, path: p, body: body, values: vals}

	var a answer
	var drop bool
	switch {
	case rt == nil && exists:
		a = errAnswer(405, 0, "405: Method Not Allowed")
	case rt == nil:
		a = errAnswer(404, 0, "404: Not Found")
	case !rt.noAuth && !rec.Authorized:
		a = errAnswer(401, 0, "401: Unauthorized")
	default:
		a, drop = s.serveRoute(rt, c, r)
	}

	s.mu.Lock()
	if a.header == nil {
		a.header = http.Header{}
	}
	if !drop {
		s.rateHeadersLocked(rt, r.Method, p, a)
	}
	if a.status == http.StatusTooManyRequests {
		s.n429++
	}
	if drop {
		rec.Status = 0
	} else {
		rec.Status = a.status
		rec.Code = a.code
	}
	s.reqs = append(s.reqs, rec)
	s.broadcastLocked()
	s.mu.Unlock()

	s.logf("%s %s -> %d %s", r.Method, p, rec.Status, truncate(string(a.body), 300))
	if drop {
		dropConn(w)
		return
	}
	writeAnswer(w, a, nil)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func writeAnswer(w http.ResponseWriter, a answer, _ http.Header) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	if a.body != nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	w.WriteHeader(a.status)
}

// dropConn closes the client's connection without any answer.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// serveRoute applies holds, faults and rate limits, then the handler.
func (s *Server) serveRoute(rt *route, c *call, r *http.Request) (answer, bool) {
	if !s.waitHolds(r.Method, c.path, r.Context(), false) {
		return answer{}, true // the client gave up or the server closed
	}
	s.mu.Lock()
	f := s.takeFaultLocked(r.Method, c.path)
	var limited *answer
	if f == nil {
		limited = s.checkLimitLocked(r.Method, c.path)
	}
	s.mu.Unlock()
	if limited != nil {
		return *limited, false
	}
	if f == nil {
		a := rt.h(c)
		if !s.waitHolds(r.Method, c.path, r.Context(), true) {
			return answer{}, true // performed, but nobody hears of it
		}
		return a, false
	}
	if f.AfterAccept {
		_ = rt.h(c)
		if !s.waitHolds(r.Method, c.path, r.Context(), true) {
			return answer{}, true
		}
	}
	if f.Drop {
		return answer{}, true
	}
	return f.answer(), false
}

// parseBody decodes a JSON body, or the payload_json of a multipart body (files are
// returned too).
func parseBody(c *call, v any) ([]byte, []File, error) {
	return decodeBody(c.r.Header.Get("Content-Type"), c.body, v)
}

// decodeBody is parseBody for a body and its Content-Type.
func decodeBody(ct string, body []byte, v any) ([]byte, []File, error) {
	raw := body
	var files []File
	if strings.HasPrefix(ct, "multipart/") {
		req, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if err := req.ParseMultipartForm(32 << 20); err != nil {
			return nil, nil, err
		}
		raw = []byte(req.FormValue("payload_json"))
		if req.MultipartForm != nil {
			for _, fhs := range req.MultipartForm.File {
				for _, fh := range fhs {
					f, err := fh.Open()
					if err != nil {
						continue
					}
					data, _ := io.ReadAll(f)
					f.Close()
					files = append(files, File{Name: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data})
				}
			}
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return raw, files, err
	}
	return raw, files, nil
}

func badJSON() answer {
	return errAnswer(400, 50109, "The request body contains invalid JSON.")
}
