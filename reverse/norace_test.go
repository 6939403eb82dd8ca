//go:build !race

package reverse

const raceEnabled = false
