//go:build race

package test

// raceEnabled builds the bot under test with the race detector too.
const raceEnabled = true
