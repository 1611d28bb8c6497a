//go:build !linux

package postgres

import "syscall"

// setUserTimeout: TCP_USER_TIMEOUT is Linux's; elsewhere the keepalives and
// the ping's timeout bound how long a dead connection goes unnoticed.
func setUserTimeout(string, string, syscall.RawConn) error { return nil }
