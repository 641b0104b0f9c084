package campbus

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseIDRangeAcceptsWellFormedRanges(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     IDRange
	}{
		{"the default range gives J, 3 digits, 1 to 384", "J001-J384",
			IDRange{Prefix: "J", Width: 3, Min: 1, Max: 384}},
		{"a large camp's range gives 5 digits, 1 to 20000", "J00001-J20000",
			IDRange{Prefix: "J", Width: 5, Min: 1, Max: 20000}},
		{"a range of one id is allowed", "J004-J004",
			IDRange{Prefix: "J", Width: 3, Min: 4, Max: 4}},
		{"a range may start at zero", "J000-J009",
			IDRange{Prefix: "J", Width: 3, Min: 0, Max: 9}},
		{"the prefix may be several letters of either case", "Camp01-Camp99",
			IDRange{Prefix: "Camp", Width: 2, Min: 1, Max: 99}},
		{"one digit is the narrowest width", "J1-J9",
			IDRange{Prefix: "J", Width: 1, Min: 1, Max: 9}},
		{"nine digits is the widest width", "J000000001-J999999999",
			IDRange{Prefix: "J", Width: 9, Min: 1, Max: 999999999}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDRange(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String(), "the range prints as it was written")
		})
	}
}

func TestParseIDRangeRefusesMalformedRanges(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantMsg string
	}{
		{"an empty range is refused", "", "want LOW-HIGH"},
		{"a range without a dash is refused", "J001J384", "want LOW-HIGH"},
		{"a single id is refused", "J004", "want LOW-HIGH"},
		{"bounds with different prefixes are refused", "J001-K384", "same letters and number of digits"},
		{"bounds whose prefixes differ in case are refused", "J001-j384", "same letters and number of digits"},
		{"bounds with different widths are refused", "J001-J0384", "same letters and number of digits"},
		{"a low bound above the high bound is refused", "J384-J001", "low bound is above high bound"},
		{"ten digits are refused", "J0000000001-J0000000002", "1 to 9 digits"},
		{"a bound without letters is refused", "001-384", "1 to 9 digits"},
		{"a bound without digits is refused", "J-J384", "1 to 9 digits"},
		{"a bound with a letter among its digits is refused", "J00a-J384", "1 to 9 digits"},
		{"a signed bound is refused", "J+01-J384", "1 to 9 digits"},
		{"spaces around the dash are refused", "J001 - J384", "1 to 9 digits"},
		{"a third bound is refused", "J001-J384-J500", "1 to 9 digits"},
		{"a missing high bound is refused", "J001-", "1 to 9 digits"},
		{"a missing low bound is refused", "-J384", "1 to 9 digits"},
		{"digits other than ASCII are refused", "J٠٠١-J٣٨٤", "1 to 9 digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDRange(tc.in)
			require.Error(t, err, "ParseIDRange(%q) = %+v", tc.in, got)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", tc.in), "the error quotes the range")
			assert.Zero(t, got)
		})
	}
}

func TestMustParseIDRangePanicsOnAMalformedRange(t *testing.T) {
	assert.Equal(t, IDRange{Prefix: "J", Width: 3, Min: 1, Max: 384}, MustParseIDRange(DefaultCampIDs))
	assert.Panics(t, func() { MustParseIDRange("J384-J001") })
}

func TestIDRangeFormat(t *testing.T) {
	def := MustParseIDRange("J001-J384")
	large := MustParseIDRange("J00001-J20000")
	for _, tc := range []struct {
		name string
		r    IDRange
		n    int
		want string
	}{
		{"the default range pads 4 to three digits", def, 4, "J004"},
		{"the default range writes its lowest id", def, 1, "J001"},
		{"the default range writes its highest id", def, 384, "J384"},
		{"a five-digit range pads 1 to five digits", large, 1, "J00001"},
		{"a five-digit range writes its highest id", large, 20000, "J20000"},
		{"a several-letter prefix is kept", MustParseIDRange("Camp01-Camp99"), 7, "Camp07"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.r.Format(tc.n))
		})
	}
	assert.Equal(t, 384, def.Size())
	assert.Equal(t, 20000, large.Size())
}

func TestIDRangeCheck(t *testing.T) {
	def := MustParseIDRange("J001-J384")
	large := MustParseIDRange("J00001-J20000")
	for _, tc := range []struct {
		name string
		r    IDRange
		id   string
		want string // a part of the sentence; empty when the id is admitted
	}{
		{"an id inside the range is admitted", def, "J004", ""},
		{"the lowest id is admitted", def, "J001", ""},
		{"the highest id is admitted", def, "J384", ""},
		{"an id above the range is out of range", def, "J385", "is out of range"},
		{"J999 is out of range", def, "J999", "is out of range"},
		{"number zero is out of range", def, "J000", "is out of range"},
		{"too few digits are malformed", def, "J04", "is malformed"},
		{"too many digits are malformed", def, "J0004", "is malformed"},
		{"another letter is malformed", def, "K004", "is malformed"},
		{"a lower-case letter is malformed", def, "j004", "is malformed"},
		{"an empty id is malformed", def, "", "is malformed"},
		{"digits alone are malformed", def, "0004", "is malformed"},
		{"a letter among the digits is malformed", def, "J0a4", "is malformed"},
		{"a sign among the digits is malformed", def, "J-04", "is malformed"},
		{"a space among the digits is malformed", def, "J 04", "is malformed"},
		{"digits other than ASCII are malformed", def, "J٠٠٤", "is malformed"},
		{"a five-digit id is admitted by the large range", large, "J12345", ""},
		{"the large range's highest id is admitted", large, "J20000", ""},
		{"an id above the large range is out of range", large, "J20001", "is out of range"},
		{"a three-digit id is malformed in the large range", large, "J004", "is malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.r.Check(tc.id)
			if tc.want == "" {
				assert.Nil(t, e, "Check(%q)", tc.id)
				return
			}
			require.NotNil(t, e, "Check(%q) admitted the id", tc.id)
			assert.Equal(t, http.StatusBadRequest, e.Status)
			assert.Equal(t, CodeBadCampID, e.Code)
			assert.False(t, e.Fatal, "the connection stays open so the user can try again")
			assert.Contains(t, e.Message, tc.want)
			assert.Contains(t, e.Message, tc.r.String(), "the sentence names the range")
		})
	}
}

// specMissions is the keyword table of MISSION-SPEC.md §2, copied as written.
var specMissions = map[int]string{
	1: "IDE, node", 11: "Path, UnitTest",
	2: "Linux, Shell", 12: "Git, Objects",
	3: "Crawling, LRU", 13: "OSI, TCP/IP",
	4: "Heap, Stack", 14: "HTTP, Request",
	6: "XML, XPath", 16: "Event, Async",
	7: "Object, Class", 17: "Food, Delivery",
	8: "CountSet, Closure", 18: "SQL, Report",
	9: "Process, Thread", 19: "Network, Server",
}

func TestMissionKeywordsMatchTheSpecTable(t *testing.T) {
	for day := 1; day <= 21; day++ {
		want, has := specMissions[day]
		name := fmt.Sprintf("day %d has the keywords %q", day, want)
		if !has {
			name = fmt.Sprintf("day %d has no mission", day)
		}
		t.Run(name, func(t *testing.T) {
			got, ok := MissionKeywords(day)
			assert.Equal(t, has, ok)
			assert.Equal(t, want, got)
		})
	}
	for _, day := range []int{0, -1, 22, 1 << 31} {
		t.Run(fmt.Sprintf("day %d has no mission", day), func(t *testing.T) {
			got, ok := MissionKeywords(day)
			assert.False(t, ok)
			assert.Empty(t, got)
		})
	}
}
