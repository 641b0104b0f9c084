package webfront

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOriginOfIsWhatABrowserSendsForAPageAtThatURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.1:8080":        "http://10.0.0.1:8080",
		"http://10.0.0.1:8080/":       "http://10.0.0.1:8080",
		"HTTPS://N1.Camp.Example":     "https://n1.camp.example",
		"https://n1.camp.example:443": "https://n1.camp.example",
		"http://n1.camp.example:80":   "http://n1.camp.example",
		"https://n1.camp.example:80":  "https://n1.camp.example:80",
		"http://[::1]:8080":           "http://[::1]:8080",
		"http://[::1]":                "http://[::1]",
	} {
		got, ok := OriginOf(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "null", "ftp://camp.example", "camp.example:8080", "http://", "https://user@camp.example"} {
		_, ok := OriginOf(bad)
		assert.False(t, ok, bad)
	}
}

func TestThePageMayOpenTheSocketsOfTheCampsNodes(t *testing.T) {
	s := &Server{opts: Options{CampURLs: func() []string {
		return []string{"http://10.0.0.2:8080", "https://n3.camp.example", "http://10.0.0.2:8080/", "not a url"}
	}}}
	assert.Equal(t, " ws://10.0.0.2:8080 wss://n3.camp.example", s.campSockets())
	assert.Empty(t, (&Server{}).campSockets(), "a node alone: its own server only")
}
