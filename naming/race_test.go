//go:build race

package naming

// raceEnabled: under the race detector sync.Pool drops items at random, so
// allocation counts are not stable.
const raceEnabled = true
