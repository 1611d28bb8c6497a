package config

import (
	"crypto/ed25519"
	"encoding/hex"
)

// interactions reads INTERACTIONS_ADDR and DISCORD_PUBLIC_KEY: the key is
// required with the address (alone it is checked and unused). The key is
// public, but its value is still not repeated in errors.
func (l *loader) interactions(addrName, keyName string) (string, ed25519.PublicKey) {
	addr := l.addr(addrName, false)
	raw := l.value(keyName, false)
	var key ed25519.PublicKey
	if raw != "" {
		b, err := hex.DecodeString(raw)
		if err != nil || len(b) != ed25519.PublicKeySize {
			l.fail(keyName, "is not 64 hexadecimal characters (copy the application's Public Key from the developer portal, General Information)")
			return "", nil
		}
		key = ed25519.PublicKey(b)
	}
	if addr == "" {
		return "", nil
	}
	if key == nil {
		l.fail(keyName, "is not set; it is required with %s (the application's Public Key from the developer portal)", addrName)
		return "", nil
	}
	return addr, key
}
