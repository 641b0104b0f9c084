//go:build !race

package handlers

// raceDetector is true when the tests run with -race.
const raceDetector = false
