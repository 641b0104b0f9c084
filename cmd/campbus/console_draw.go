package main

import "strconv"

// Drawing the line editor on the screen. Every change redraws the prompt and
// line from where the prompt begins; positions are counted in columns (see
// console_width.go), so wide characters and wrapped rows land where the
// terminal puts them.

// clearArea appends what wipes the prompt and line from the screen, leaving
// the cursor where the prompt began.
func (e *lineEditor) clearArea(b []byte) []byte {
	if !e.shown {
		return b
	}
	e.shown = false
	b = cursorUp(b, e.cursorRow)
	return append(b, "\r\x1b[J"...)
}

// draw appends the prompt and line, from the start of a row, and puts the
// cursor on its character.
func (e *lineEditor) draw(b []byte) []byte {
	width := e.width()
	if width <= 0 {
		width = defaultColumn
	}
	line, pos := e.visible()
	b = append(b, string(e.prompt)...)
	b = append(b, string(line)...)
	cursor, end := layout(e.prompt, line, pos, width)
	if end.col >= width {
		// The terminal holds the cursor on the last column until the next
		// character; move it down now so the rows counted are the rows used.
		b = append(b, "\r\n"...)
		end = screenPos{end.row + 1, 0}
	}
	e.cursorRow, e.shown = cursor.row, true
	if cursor == end {
		return b // the cursor is already there
	}
	b = cursorUp(b, end.row-cursor.row)
	b = append(b, '\r')
	if cursor.col > 0 {
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(cursor.col), 10)
		b = append(b, 'C')
	}
	return b
}

func (e *lineEditor) redraw() {
	e.write(e.draw(e.clearArea(nil)))
}

func cursorUp(b []byte, rows int) []byte {
	if rows <= 0 {
		return b
	}
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(rows), 10)
	return append(b, 'A')
}

// write sends b to the terminal, keeping the first error. e.mu must be held.
func (e *lineEditor) write(b []byte) {
	if len(b) == 0 {
		return
	}
	if _, err := e.out.Write(b); err != nil && e.err == nil {
		e.err = err
	}
}
