package main

import "unicode/utf8"

// keyCode is what a key press asks of the line editor.
type keyCode int

const (
	keyNone        keyCode = iota // a key the editor does not use
	keyRune                       // a character to insert
	keyEnter                      // Enter (CR) or LF
	keyBackspace                  // Backspace, Ctrl-H
	keyDelete                     // Delete
	keyLeft                       // ←, Ctrl-B
	keyRight                      // →, Ctrl-F
	keyWordLeft                   // Ctrl-←, Alt-←, Alt-B
	keyWordRight                  // Ctrl-→, Alt-→, Alt-F
	keyHome                       // Home, Ctrl-A
	keyEnd                        // End, Ctrl-E
	keyUp                         // ↑, Ctrl-P: the previous command
	keyDown                       // ↓, Ctrl-N: the next command
	keyKillToEnd                  // Ctrl-K
	keyKillToStart                // Ctrl-U
	keyKillWord                   // Ctrl-W, Alt-Backspace
	keyClearScreen                // Ctrl-L
	keyInterrupt                  // Ctrl-C
	keyEOF                        // Ctrl-D
	keyTab                        // Tab: complete the command name
)

type key struct {
	code keyCode
	r    rune // the character for keyRune; the byte for a control key
}

// controlKeys maps the control bytes that have a meaning, as readline and
// shells use them.
var controlKeys = map[byte]keyCode{
	0x01: keyHome, 0x02: keyLeft, 0x03: keyInterrupt, 0x04: keyEOF, 0x05: keyEnd,
	0x06: keyRight, 0x08: keyBackspace, 0x09: keyTab, 0x0a: keyEnter, 0x0b: keyKillToEnd,
	0x0c: keyClearScreen, 0x0d: keyEnter, 0x0e: keyDown, 0x10: keyUp, 0x15: keyKillToStart,
	0x17: keyKillWord, 0x7f: keyBackspace,
}

// decodeKey decodes the key at the start of b and returns it with the number
// of bytes it took, or n == 0 when b holds only the start of a key (an escape
// sequence or a UTF-8 character cut by the read) and more bytes are needed.
func decodeKey(b []byte) (k key, n int) {
	if len(b) == 0 {
		return key{}, 0
	}
	if b[0] == 0x1b {
		return decodeEscape(b)
	}
	if b[0] < 0x20 || b[0] == 0x7f {
		return key{code: controlKeys[b[0]], r: rune(b[0])}, 1 // r tells CR from LF
	}
	if !utf8.FullRune(b) {
		return key{}, 0
	}
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size == 1 {
		return key{}, 1 // not UTF-8: skip the byte
	}
	return key{code: keyRune, r: r}, size
}

// decodeEscape decodes a key that starts with ESC: a CSI sequence (ESC [),
// an SS3 sequence (ESC O, arrows in application mode) or Alt with a key.
func decodeEscape(b []byte) (key, int) {
	if len(b) < 2 {
		return key{}, 0
	}
	switch b[1] {
	case '[':
		return decodeCSI(b)
	case 'O':
		if len(b) < 3 {
			return key{}, 0
		}
		return key{code: finalKeys[b[2]]}, 3
	case 'b', 'B':
		return key{code: keyWordLeft}, 2
	case 'f', 'F':
		return key{code: keyWordRight}, 2
	case 0x7f, 0x08:
		return key{code: keyKillWord}, 2
	}
	return key{}, 1 // a lone ESC, or Alt with a key we do not use: drop the ESC
}

// finalKeys maps the final byte of ESC [ ... X and ESC O X.
var finalKeys = map[byte]keyCode{
	'A': keyUp, 'B': keyDown, 'C': keyRight, 'D': keyLeft, 'H': keyHome, 'F': keyEnd,
}

// tildeKeys maps the parameter of ESC [ n ~.
var tildeKeys = map[string]keyCode{
	"1": keyHome, "7": keyHome, "4": keyEnd, "8": keyEnd, "3": keyDelete,
}

// maxCSILength bounds how long an unfinished escape sequence may wait for
// its end.
const maxCSILength = 16

// decodeCSI decodes ESC [ params intermediates final. Unknown sequences are
// consumed whole and ignored, so their bytes are never typed into the line.
func decodeCSI(b []byte) (key, int) {
	i := 2
	for i < len(b) && b[i] >= 0x30 && b[i] <= 0x3f { // parameters: digits ; < = > ?
		i++
	}
	params := string(b[2:i])
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f { // intermediates
		i++
	}
	if i == len(b) {
		if i > maxCSILength {
			return key{}, i // no key is this long: drop it rather than wait forever
		}
		return key{}, 0
	}
	final := b[i]
	n := i + 1
	if final == '~' {
		return key{code: tildeKeys[params]}, n
	}
	code := finalKeys[final]
	if params == "1;3" || params == "1;5" { // Alt or Ctrl with ← →: by words
		switch code {
		case keyLeft:
			code = keyWordLeft
		case keyRight:
			code = keyWordRight
		}
	}
	return key{code: code}, n
}
