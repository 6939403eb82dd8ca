//go:build race

package forward

// raceEnabled: the race detector allocates on its own, so allocation
// pins hold only without it.
const raceEnabled = true
