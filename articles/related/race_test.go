//go:build race

package related

// raceEnabled skips the corpus-wide quality measurement under the race
// detector: it is single-goroutine work, ten times slower there, and runs in
// every plain `go test`.
const raceEnabled = true
