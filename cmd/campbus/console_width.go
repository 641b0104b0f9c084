package main

import "unicode"

// The line editor places the cursor itself, so it must know how many
// terminal columns each character takes. Campers type Hangul, which takes
// two; x/term's editor counts one and so mangled the line when an event was
// printed above it.

// wideRanges are the East Asian wide and fullwidth characters (Unicode
// UAX #11, the ranges terminals agree on) and the emoji most terminals draw
// two columns wide.
var wideRanges = [][2]rune{
	{0x1100, 0x115F},   // Hangul Jamo initial consonants
	{0x2E80, 0x303E},   // CJK radicals, Kangxi radicals, CJK symbols and punctuation
	{0x3041, 0x33FF},   // kana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
	{0x3400, 0x4DBF},   // CJK unified ideographs extension A
	{0x4E00, 0x9FFF},   // CJK unified ideographs
	{0xA000, 0xA4CF},   // Yi
	{0xA960, 0xA97F},   // Hangul Jamo extended-A
	{0xAC00, 0xD7A3},   // Hangul syllables
	{0xF900, 0xFAFF},   // CJK compatibility ideographs
	{0xFE10, 0xFE19},   // vertical forms
	{0xFE30, 0xFE6F},   // CJK compatibility forms, small form variants
	{0xFF00, 0xFF60},   // fullwidth forms
	{0xFFE0, 0xFFE6},   // fullwidth signs
	{0x1F300, 0x1F64F}, // pictographs, emoticons
	{0x1F900, 0x1F9FF}, // supplemental pictographs
	{0x20000, 0x3FFFD}, // CJK extensions B and later
}

// runeWidth returns how many columns r takes on a terminal: 2 for wide
// characters, 0 for combining marks and zero-width characters, 1 otherwise.
func runeWidth(r rune) int {
	switch {
	case r < 0x300:
		return 1 // Latin: the common case, decided at once
	case r >= 0x1160 && r <= 0x11FF:
		return 0 // Hangul Jamo vowels and finals join the initial before them
	case r == 0x200B, r == 0x200C, r == 0x200D, r == 0x2060, r == 0xFEFF:
		return 0
	case unicode.In(r, unicode.Mn, unicode.Me):
		return 0
	}
	for _, wide := range wideRanges {
		if r >= wide[0] && r <= wide[1] {
			return 2
		}
	}
	return 1
}

// textWidth returns how many columns s takes on one line.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// screenPos is a position on the screen relative to the start of the
// prompt: row 0 is the prompt's row.
type screenPos struct{ row, col int }

// advance returns where the cursor goes after r is written at p on a
// terminal width columns wide. A wide character that does not fit on the
// row moves to the next one, as terminals do. The column may reach width:
// the terminal then waits to wrap until the next character.
func (p screenPos) advance(r rune, width int) screenPos {
	w := runeWidth(r)
	if p.col >= width || (w > 0 && p.col+w > width) {
		p.row, p.col = p.row+1, 0
	}
	p.col += w
	return p
}

// layout returns where the cursor is after prompt and line[:pos], and after
// the whole of prompt and line, on a terminal width columns wide. The cursor
// position is where line[pos] will be drawn.
func layout(prompt []rune, line []rune, pos, width int) (cursor, end screenPos) {
	var p screenPos
	for _, r := range prompt {
		p = p.advance(r, width)
	}
	for i, r := range line {
		if i == pos {
			cursor = p
		}
		p = p.advance(r, width)
	}
	end = p
	if pos >= len(line) {
		cursor = end
	}
	// The cursor sits on the cell where the next character goes.
	if cursor.col >= width || (pos < len(line) && cursor.col+runeWidth(line[pos]) > width) {
		cursor = screenPos{cursor.row + 1, 0}
	}
	return cursor, end
}
