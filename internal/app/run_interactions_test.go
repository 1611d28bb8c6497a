package app

import "testing"

// INTERACTIONS_ADDR equal to HTTP_ADDR in another spelling is one listener
// (two would fail with "address already in use").
func TestSameListenAddr(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{":8080", ":8080", true},
		{":8080", "0.0.0.0:8080", true},
		{"[::]:8080", ":8080", true},
		{"localhost:8080", "127.0.0.1:8080", true},
		{"LocalHost:8080", "localhost:8080", true},
		{":8080", ":8443", false},
		{"127.0.0.1:8080", ":8080", false},
		{"10.0.0.2:8080", "10.0.0.3:8080", false},
		{":8080", "", false},
		{"", "", true},
	}
	for _, c := range cases {
		if got := sameListenAddr(c.a, c.b); got != c.same {
			t.Errorf("sameListenAddr(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
