package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Key sequences as terminals send them.
const (
	keysUp        = "\x1b[A"
	keysDown      = "\x1b[B"
	keysLeft      = "\x1b[D"
	keysCtrlLeft  = "\x1b[1;5D"
	keysHome      = "\x1bOH"
	keysDel       = "\x1b[3~"
	keysPasteFrom = "\x1b[200~"
	keysPasteTo   = "\x1b[201~"
)

// chunkReader returns its chunks one Read at a time, then io.EOF: keys as
// they come from a terminal, cut wherever the test likes.
type chunkReader struct{ chunks []string }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// readLines runs ReadLine on an editor fed chunks until io.EOF and returns
// the lines read.
func readLines(t *testing.T, chunks ...string) []string {
	t.Helper()
	ed := newLineEditor(&chunkReader{chunks: chunks}, io.Discard, func() int { return 20 }, completions)
	var lines []string
	for {
		line, err := ed.ReadLine("> ")
		if err == io.EOF {
			return lines
		}
		require.NoError(t, err)
		lines = append(lines, line)
	}
}

func TestLineEditorKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"typing, arrows, Home and End edit the line",
			[]string{"helo", keysLeft, "l", "\x01", "x", "\x05", "!\r"}, []string{"xhello!"}},
		{"Backspace, Delete and Ctrl-D delete", []string{"abcd\x7f", keysHome, keysDel, "\x04", "\r"}, []string{"c"}},
		{"Ctrl-W deletes a word, Ctrl-U the start, Ctrl-K the end",
			[]string{"direct J005 hi there\x17\x17", "x\r", "abc def", keysLeft, keysLeft, "\x15\r", "abc def", keysCtrlLeft, "\x0b\r"},
			[]string{"direct J005 x", "ef", "abc "}},
		{"a key cut across reads is still one key", []string{"a\x1b", "[", "D", "b\xec\x95", "\x88\r"}, []string{"b안a"}},
		{"CRLF is one Enter, even cut across reads", []string{"a\r\nb\r", "\nc\n"}, []string{"a", "b", "c"}},
		{"Ctrl-C drops a typed line and ends on an empty one", []string{"oops\x03mission 4\r\x03", "never read\r"}, []string{"mission 4"}},
		{"Ctrl-D on an empty line ends", []string{"\x04", "never read\r"}, nil},
		{"unknown sequences and paste marks are not typed", []string{"\x1b[15~" + keysPasteFrom + "hi" + keysPasteTo + "\x1b[99;99;99;99;99;99;99X\r"}, []string{"hi"}},
		{"Tab completes the only command, with a space", []string{"mis\t4\r"}, []string{"mission 4"}},
		{"Tab completes as far as the commands agree", []string{"che\tou\t\r"}, []string{"checkout "}},
		{"Tab after the command does nothing", []string{"direct J0\t\r"}, []string{"direct J0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, readLines(t, tc.chunks...))
		})
	}
}

func TestLineEditorHistory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"Up recalls earlier lines, newest first",
			[]string{"one\r", "two\r", keysUp + keysUp + "\r"}, []string{"one", "two", "one"}},
		{"Down goes back to the line being typed",
			[]string{"one\r", "dra", keysUp, keysDown, "ft\r"}, []string{"one", "draft"}},
		{"Up stops at the oldest line", []string{"one\r", keysUp + keysUp + keysUp + "\r"}, []string{"one", "one"}},
		{"blank lines and repeats are not kept",
			[]string{"one\r", "two\r", "two\r", "  \r", keysUp + keysUp + "\r"}, []string{"one", "two", "two", "  ", "one"}},
		{"Ctrl-P and Ctrl-N work as Up and Down", []string{"one\r", "two\r", "\x10\x10\x0e\r"}, []string{"one", "two", "two"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, readLines(t, tc.chunks...))
		})
	}
}

func TestLineEditorPrintsAboveTheLineAndDrawsItAgain(t *testing.T) {
	stdinReader, stdinWriter := io.Pipe()
	defer stdinWriter.Close()
	var out syncBuffer
	ed := newLineEditor(stdinReader, &out, func() int { return 20 }, nil)
	result := make(chan string, 1)
	go func() {
		line, _ := ed.ReadLine("> ")
		result <- line
	}()
	_, err := io.WriteString(stdinWriter, "abc"+keysLeft)
	require.NoError(t, err)
	waitForOutput(t, &out, "> abc\r\x1b[4C") // the cursor before c

	ed.Print("< J005 joined group#1")
	waitForOutput(t, &out, "\r\x1b[J< J005 joined group#1\r\n> abc\r\x1b[4C")

	_, err = io.WriteString(stdinWriter, "\r")
	require.NoError(t, err)
	select {
	case line := <-result:
		assert.Equal(t, "abc", line)
	case <-time.After(connectTestTimeout):
		t.Fatal("ReadLine did not return")
	}
	assert.True(t, strings.HasSuffix(out.String(), "\r\x1b[J> abc\r\n"), "Enter leaves the line as typed; output %q", out.String())

	ed.Print("< after")
	assert.True(t, strings.HasSuffix(out.String(), "> abc\r\n< after\r\n"), "no prompt between lines; output %q", out.String())
}

func TestLineEditorTakesASecretUnseenAndForgetsIt(t *testing.T) {
	var out syncBuffer
	ed := newLineEditor(&chunkReader{chunks: []string{"mission 4\r", "eyJ.se\tcret", keysUp, "\r", keysUp + "\r"}},
		&out, func() int { return 40 }, completions)
	line, err := ed.ReadLine("> ")
	require.NoError(t, err)
	assert.Equal(t, "mission 4", line)
	ed.hideNextLine()
	secret, err := ed.ReadLine("token? ")
	require.NoError(t, err)
	assert.Equal(t, "eyJ.secret", secret, "Tab and Up do nothing to a secret")
	line, err = ed.ReadLine("> ")
	require.NoError(t, err)
	assert.Equal(t, "mission 4", line, "the history holds no secret")
	assert.NotContains(t, out.String(), "eyJ")
	assert.NotContains(t, out.String(), "cret")
	assert.Contains(t, out.String(), "token? \r\n", "the prompt stays, with nothing after it")
}

func TestWidthsAreThoseTerminalsDraw(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"a", 1}, {"é", 1}, {"e\u0301", 1}, {"\u200d", 0}, {"안", 2}, {"ㅎ", 2}, {"中", 2}, {"Ａ", 2}, {"😀", 2}, {"→", 1},
		{"🚀", 2}, {"✅", 2}, {"☕", 2}, {"⭐", 2}, {"🇰🇷", 2}, {"👨\u200d👩\u200d👧", 2}, {"👍🏽", 2},
	} {
		assert.Equal(t, tc.want, textWidth(tc.s), "width of %q", tc.s)
	}
	assert.Equal(t, 14, textWidth("> message 안녕"))
}

func TestClustersKeepFlagsFamiliesAndAccentsWhole(t *testing.T) {
	line := []rune("a🇰🇷e\u0301👨\u200d👩\u200d👧b")
	var got []string
	for _, c := range clusters(line) {
		got = append(got, string(line[c.start:c.end]))
	}
	assert.Equal(t, []string{"a", "🇰🇷", "e\u0301", "👨\u200d👩\u200d👧", "b"}, got)
	assert.Equal(t, 1, nextBoundary(line, 0))
	assert.Equal(t, 3, nextBoundary(line, 1), "a flag is two runes")
	assert.Equal(t, 10, nextBoundary(line, 5), "a family is five")
	assert.Equal(t, 5, prevBoundary(line, 10))
	assert.Equal(t, 0, prevBoundary(line, 1))
	assert.Equal(t, 0, prevBoundary(line, 0))
	assert.Equal(t, len(line), nextBoundary(line, len(line)))
}

func TestLineEditorMovesAndDeletesWholeClusters(t *testing.T) {
	// Type a, a family, b; go left twice (over b, then the whole family);
	// delete the family with Delete; Enter.
	assert.Equal(t, []string{"ab"}, readLines(t, "a👨\u200d👩\u200d👧b\x1b[D\x1b[D\x1b[3~\r"))
	// Backspace after a flag takes the whole flag.
	assert.Equal(t, []string{"x"}, readLines(t, "x🇰🇷\x7f\r"))
	// An accent typed after a letter joins it; Left goes over both.
	assert.Equal(t, []string{"[e\u0301]"}, readLines(t, "e\u0301]\x1b[D\x1b[D[\r"))
}

func TestLayoutWrapsAsTerminalsDo(t *testing.T) {
	for _, tc := range []struct {
		name        string
		line        string
		pos         int
		cursor, end screenPos
	}{
		{"a short line", "abc", 3, screenPos{0, 5}, screenPos{0, 5}},
		{"the cursor inside the line", "abc", 1, screenPos{0, 3}, screenPos{0, 5}},
		{"a line that fills the row: the cursor goes to the next", "abcdefgh", 8, screenPos{1, 0}, screenPos{0, 10}},
		{"a wide character that does not fit moves down whole", "abcdefg가", 8, screenPos{1, 2}, screenPos{1, 2}},
		{"the cursor on that character is on the next row", "abcdefg가", 7, screenPos{1, 0}, screenPos{1, 2}},
		{"Hangul takes two columns", "안녕하세요", 5, screenPos{1, 2}, screenPos{1, 2}},
		{"so do emoji", "ab🚀✅☕", 5, screenPos{1, 0}, screenPos{0, 10}},
		{"a family is one cluster two wide", "👨\u200d👩\u200d👧x", 5, screenPos{0, 4}, screenPos{0, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cursor, end := layout([]rune("> "), []rune(tc.line), tc.pos, 10)
			assert.Equal(t, tc.cursor, cursor, "cursor")
			assert.Equal(t, tc.end, end, "end")
		})
	}
}
