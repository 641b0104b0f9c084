package main

import (
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// The line editor places the cursor itself, so it must know how many
// terminal columns each character takes, and which characters make one:
// Hangul and CJK take two columns, so do emoji (🚀, ✅, ☕), a flag is two
// regional indicators drawn as one, a family is several emoji joined by
// zero-width joiners and drawn as one, and an accent combines with the
// letter before it. Unicode's rules for both (UAX #29 grapheme clusters,
// UAX #11 and emoji presentation for widths) come from rivo/uniseg, which
// keeps up with each Unicode version; a table of our own fell behind.

// cluster is one grapheme cluster of a line: the runes line[start:end],
// which the terminal draws width columns wide. The editor moves and
// deletes by clusters, so none is ever cut in two.
type cluster struct{ start, end, width int }

// clusters splits line into its grapheme clusters.
func clusters(line []rune) []cluster {
	var out []cluster
	rest, state, at := string(line), -1, 0
	for rest != "" {
		var c string
		var width int
		c, rest, width, state = uniseg.FirstGraphemeClusterInString(rest, state)
		n := utf8.RuneCountInString(c)
		out = append(out, cluster{at, at + n, width})
		at += n
	}
	return out
}

// prevBoundary returns the start of the cluster before pos.
func prevBoundary(line []rune, pos int) int {
	prev := 0
	for _, c := range clusters(line) {
		if c.start >= pos {
			break
		}
		prev = c.start
	}
	return prev
}

// nextBoundary returns the end of the cluster at pos.
func nextBoundary(line []rune, pos int) int {
	for _, c := range clusters(line) {
		if c.end > pos {
			return c.end
		}
	}
	return len(line)
}

// textWidth returns how many columns s takes on one line.
func textWidth(s string) int { return uniseg.StringWidth(s) }

// screenPos is a position on the screen relative to the start of the
// prompt: row 0 is the prompt's row.
type screenPos struct{ row, col int }

// advance returns where the cursor goes after a cluster w columns wide is
// written at p on a terminal width columns wide. A wide cluster that does
// not fit on the row moves to the next one, as terminals do. The column
// may reach width: the terminal then waits to wrap until the next
// character.
func (p screenPos) advance(w, width int) screenPos {
	if p.col >= width || (w > 0 && p.col+w > width) {
		p.row, p.col = p.row+1, 0
	}
	p.col += w
	return p
}

// layout returns where the cursor is after prompt and line[:pos], and after
// the whole of prompt and line, on a terminal width columns wide. The cursor
// position is where the cluster at pos will be drawn.
func layout(prompt []rune, line []rune, pos, width int) (cursor, end screenPos) {
	var p screenPos
	for _, c := range clusters(prompt) {
		p = p.advance(c.width, width)
	}
	under := -1 // the width of the cluster under the cursor, if any
	for _, c := range clusters(line) {
		if under < 0 && c.start >= pos {
			cursor, under = p, c.width
		}
		p = p.advance(c.width, width)
	}
	end = p
	if under < 0 {
		cursor = end
	}
	// The cursor sits on the cell where the next character goes.
	if cursor.col >= width || (under > 0 && cursor.col+under > width) {
		cursor = screenPos{cursor.row + 1, 0}
	}
	return cursor, end
}
