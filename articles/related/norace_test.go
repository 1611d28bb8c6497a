//go:build !race

package related

const raceEnabled = false
