package webfront

import (
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// The page sends again after 503 unavailable the commands the command
// table calls repeatable, and those alone.
func TestThePagesRepeatableCommandsAreTheTables(t *testing.T) {
	js, err := static.ReadFile("static/connection.js")
	require.NoError(t, err)
	set := regexp.MustCompile(`REPEATABLE = new Set\(\[([^\]]*)\]\)`).FindSubmatch(js)
	require.NotNil(t, set, "connection.js lists REPEATABLE")
	var page []string
	for _, m := range regexp.MustCompile(`'([a-z]+)'`).FindAllSubmatch(set[1], -1) {
		page = append(page, string(m[1]))
	}
	var table []string
	for _, c := range campbus.Commands() {
		if c.Repeatable {
			table = append(table, c.Name)
		}
	}
	slices.Sort(page)
	slices.Sort(table)
	assert.Equal(t, table, page)
}
