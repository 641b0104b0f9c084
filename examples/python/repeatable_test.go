package python

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// The example sends again after 503 unavailable the commands the command
// table calls repeatable, and those alone.
func TestTheExamplesRepeatableCommandsAreTheTables(t *testing.T) {
	src, err := os.ReadFile("campbus_client.py")
	require.NoError(t, err)
	set := regexp.MustCompile(`REPEATABLE = \{([^}]*)\}`).FindSubmatch(src)
	require.NotNil(t, set, "campbus_client.py lists REPEATABLE")
	var example []string
	for _, m := range regexp.MustCompile(`"([a-z]+)"`).FindAllSubmatch(set[1], -1) {
		example = append(example, string(m[1]))
	}
	var table []string
	for _, c := range campbus.Commands() {
		if c.Repeatable {
			table = append(table, c.Name)
		}
	}
	slices.Sort(example)
	slices.Sort(table)
	assert.Equal(t, table, example)
}
