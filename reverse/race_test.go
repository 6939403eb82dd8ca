//go:build race

package reverse

// raceEnabled: the race detector slows the large tests tenfold.
const raceEnabled = true
