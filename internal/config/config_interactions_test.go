package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"
)

var testKeyHex = strings.Repeat("ab", 31) + "cd" // 64 hex characters

func TestInteractionsConfig(t *testing.T) {
	env := valid()
	env["INTERACTIONS_ADDR"] = ":8443"
	env["DISCORD_PUBLIC_KEY"] = " " + strings.ToUpper(testKeyHex) + " "
	c, err := Load(MapEnv(env), runNeed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString(testKeyHex)
	if c.InteractionsAddr != ":8443" || !bytes.Equal(c.PublicKey, want) || len(c.PublicKey) != ed25519.PublicKeySize {
		t.Errorf("got addr %q key %x", c.InteractionsAddr, c.PublicKey)
	}

	// Neither: gateway interactions, as before.
	c, err = Load(MapEnv(valid()), runNeed)
	if err != nil || c.InteractionsAddr != "" || c.PublicKey != nil {
		t.Errorf("unset: %q %x %v", c.InteractionsAddr, c.PublicKey, err)
	}
	// A key alone is checked but serves nothing.
	env = valid()
	env["DISCORD_PUBLIC_KEY"] = testKeyHex
	if c, err = Load(MapEnv(env), runNeed); err != nil || c.InteractionsAddr != "" {
		t.Errorf("key alone: %q %v", c.InteractionsAddr, err)
	}
}

func TestInteractionsConfigErrors(t *testing.T) {
	cases := []struct {
		name       string
		addr, key  string
		want, leak string
	}{
		{"addr without key", ":8443", "", "config: DISCORD_PUBLIC_KEY is not set; it is required with INTERACTIONS_ADDR", ""},
		{"key too short", ":8443", testKeyHex[:62], "config: DISCORD_PUBLIC_KEY is not 64 hexadecimal characters", testKeyHex[:62]},
		{"key not hex", ":8443", strings.Repeat("zz", 32), "config: DISCORD_PUBLIC_KEY is not 64 hexadecimal characters", "zzzz"},
		{"key too long", ":8443", testKeyHex + "00", "config: DISCORD_PUBLIC_KEY is not 64", testKeyHex},
		{"bad key alone", "", "nope", "config: DISCORD_PUBLIC_KEY is not 64", "nope"},
		{"addr not host:port", "8443", testKeyHex, "config: INTERACTIONS_ADDR is \"8443\", not a host:port address", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := valid()
			env["INTERACTIONS_ADDR"] = tc.addr
			env["DISCORD_PUBLIC_KEY"] = tc.key
			_, err := Load(MapEnv(env), runNeed)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q", msg, tc.want)
			}
			if tc.leak != "" && strings.Contains(msg, tc.leak) {
				t.Errorf("error repeats the key: %q", msg)
			}
		})
	}
}
