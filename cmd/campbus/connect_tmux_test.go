package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// These tests look at `campbus connect` as a person does: the real binary in
// a real terminal (tmux), keys typed with send-keys and the screen read with
// capture-pane. CI needs tmux installed; without it they are skipped.

// tmuxScreen is one tmux session, on a tmux server of its own, running one
// command in an 80x24 window.
type tmuxScreen struct {
	t      *testing.T
	tmux   string
	socket string // -L name, unique to the test
}

// startTmux runs argv in a new tmux server with env added to the
// environment, and kills the server when the test ends. A shell runs the
// command and then writes its exit status on the screen: tmux sometimes
// leaves an exited pane's process unreaped, so its own pane_dead_status
// cannot be waited for. The pane stays after the shell exits.
func startTmux(t *testing.T, env []string, argv ...string) *tmuxScreen {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed; these tests drive the client in a real terminal")
	}
	s := &tmuxScreen{t: t, tmux: tmux, socket: fmt.Sprintf("campbus-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// env -u: a NO_COLOR of the person running the tests must not leak in.
	command := append([]string{"env", "-u", "NO_COLOR"}, env...)
	script := `"$@"; echo "[exit status $?]"`
	s.run(append([]string{"-f", "/dev/null", "start-server", ";",
		"set-option", "-g", "remain-on-exit", "on", ";",
		"new-session", "-d", "-s", "camp", "-x", "80", "-y", "24", "--", "sh", "-c", script, "sh"},
		append(command, argv...)...)...)
	socketPath := strings.TrimSpace(s.run("display-message", "-p", "-t", "camp", "#{socket_path}"))
	t.Cleanup(func() {
		_ = exec.Command(tmux, "-L", s.socket, "kill-server").Run() // it may be gone already
		_ = os.Remove(socketPath)                                   // tmux leaves it behind
	})
	return s
}

// run runs a tmux command on the test's server and returns its output.
func (s *tmuxScreen) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	require.NoError(s.t, err, "tmux %q: %s", args, out)
	return string(out)
}

// typeText types text literally, as a person would, without Enter.
func (s *tmuxScreen) typeText(text string) { s.run("send-keys", "-t", "camp", "-l", text) }

// press presses keys by their tmux names: Enter, Up, C-u...
func (s *tmuxScreen) press(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "camp"}, keys...)...)
}

// screen returns the visible lines of the pane as a person reads them: rows
// that wrapped joined into one line, trailing blanks cut. tmux options may
// be added: -e keeps the colours as SGR escapes.
func (s *tmuxScreen) screen(options ...string) []string {
	out := s.run(append([]string{"capture-pane", "-p", "-J", "-t", "camp"}, options...)...)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "Pane is dead") { // tmux's note under an exited pane
			lines = append(lines, strings.TrimRight(l, " "))
		}
	}
	for len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// rows returns the number of rows in use, wrapped lines counting as many.
func (s *tmuxScreen) rows() int {
	return len(strings.Split(strings.TrimRight(s.run("capture-pane", "-p", "-t", "camp"), " \n"), "\n"))
}

// cursor returns the cursor's column and row.
func (s *tmuxScreen) cursor() (col, row int) {
	fields := strings.Fields(s.run("display-message", "-p", "-t", "camp", "#{cursor_x} #{cursor_y}"))
	require.Len(s.t, fields, 2)
	col, err := strconv.Atoi(fields[0])
	require.NoError(s.t, err)
	row, err = strconv.Atoi(fields[1])
	require.NoError(s.t, err)
	return col, row
}

// waitFor polls the screen until ok accepts it, and returns it; it fails the
// test with the last screen after e2eTimeout.
func (s *tmuxScreen) waitFor(what string, ok func(lines []string) bool) []string {
	s.t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		lines := s.screen()
		if ok(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %s; it shows:\n%s", what, strings.Join(lines, "\n"))
		}
		<-tick.C // polling the screen, not waiting for luck: the loop checks the condition
	}
}

// waitForLastLine waits until the last line on the screen is want, with the
// lines in above, in their order, somewhere before it. Trailing blanks do not
// count: "> " is the empty prompt.
func (s *tmuxScreen) waitForLastLine(want string, above ...string) []string {
	s.t.Helper()
	what := fmt.Sprintf("%q as its last line, below %q", want, above)
	return s.waitFor(what, func(lines []string) bool {
		if lines[len(lines)-1] != strings.TrimRight(want, " ") {
			return false
		}
		i := 0
		for _, l := range lines[:len(lines)-1] {
			if i < len(above) && l == above[i] {
				i++
			}
		}
		return i == len(above)
	})
}

var exitStatusLine = regexp.MustCompile(`^\[exit status (\d+)\]$`)

// exitStatus waits for the command to exit and returns its status.
func (s *tmuxScreen) exitStatus() string {
	s.t.Helper()
	var status string
	s.waitFor("the exit status", func(lines []string) bool {
		m := exitStatusLine.FindStringSubmatch(lines[len(lines)-1])
		if m != nil {
			status = m[1]
		}
		return m != nil
	})
	return status
}

// sgrBefore matches a line that starts with text after an SGR escape whose
// parameters include code (36 cyan, 32 green, 1 bold...), a regexp.
func sgrBefore(code, text string) *regexp.Regexp {
	return regexp.MustCompile(`^(\x1b\[[0-9;]*m)*\x1b\[([0-9;]*;)?` + code + `(;[0-9;]*)?m(\x1b\[[0-9;]*m)*` + regexp.QuoteMeta(text))
}

func TestConnectInTmuxKeepsTheTypedLineIntactWhileEventsArriveAbove(t *testing.T) {
	n := startE2ENode(t)
	bin := buildCampbus(t)
	scr := startTmux(t, nil, bin, "connect", "--addr", n.Addr().String(), "J004")
	scr.waitForLastLine("> ", "> checkin J004", "< checkin success to group#1 (members: J004)")

	// Half a message typed, in Hangul: two columns a character.
	scr.typeText("message 안녕")
	scr.waitForLastLine("> message 안녕")

	// Meanwhile another camper joins, starts a session and says something.
	j005, _ := dialCamper(t, n, "J005")
	doOK(t, j005, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 2})
	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "반갑습니다"})
	events := []string{
		"< J005 joined group#1 (members: J004, J005)",
		"< peersession started by J005 (maxCount=2)",
		`< message from J005, "반갑습니다"`,
	}
	lines := scr.waitForLastLine("> message 안녕", events...)
	t.Logf("the screen while typing:\n%s", strings.Join(lines, "\n"))
	col, row := scr.cursor()
	assert.Equal(t, scr.rows()-1, row, "the cursor stays on the line being typed")
	assert.Equal(t, textWidth("> message 안녕"), col, "the cursor stays at the end of what was typed")

	// Events are cyan, chat bold (tmux writes a colour only where it
	// changes); one's own results green; the line being typed plain.
	coloured := scr.screen("-e")
	assert.Regexp(t, sgrBefore("36", events[0]), lineWith(coloured, events[0]))
	assert.Regexp(t, sgrBefore("1", events[2]), lineWith(coloured, events[2]))
	assert.Regexp(t, sgrBefore("32", "< checkin success"), lineWith(coloured, "< checkin success"))
	assert.Regexp(t, sgrBefore("(?:0|39)", "> message 안녕"), lineWith(coloured, "> message 안녕"), "back to the default colour")

	// The rest of the line, then Enter: the message goes out whole.
	scr.typeText("하세요")
	scr.press("Enter")
	scr.waitForLastLine("> ", "> message 안녕하세요", "< message sent (seq 2, 0 remaining, delivered to 1)")
	got := expectEvent(t, j005, campbus.EventMessage)
	assert.Equal(t, "안녕하세요", got.Text)

	// Up recalls it; sent again, the full session says so and what to do.
	scr.press("Up")
	scr.waitForLastLine("> message 안녕하세요")
	scr.press("Enter")
	scr.waitForLastLine("> ", "> message 안녕하세요",
		"< message failed: the peer session's limit of 2 messages is reached; the message was delivered to nobody",
		"< hint: the session is full; its host ends it with complete, then anyone can start one: peersession 2")
	assert.Regexp(t, sgrBefore("31", "< message failed"), lineWith(scr.screen("-e"), "< message failed"))

	scr.typeText("checkout")
	scr.press("Enter")
	lines = scr.waitFor("the active time", func(lines []string) bool {
		return slices.ContainsFunc(lines, func(l string) bool { return activeTimeLine.MatchString(l) })
	})
	assert.Equal(t, "0", scr.exitStatus(), "checkout ends the client with exit status 0; screen:\n%s", strings.Join(lines, "\n"))
	t.Logf("the screen at the end:\n%s", strings.Join(scr.screen(), "\n"))
}

func TestConnectInTmuxWithNoColorHasNoColourAndHelpsWithMistakes(t *testing.T) {
	n := startE2ENode(t)
	bin := buildCampbus(t)
	scr := startTmux(t, []string{"NO_COLOR=1"}, bin, "connect", "--addr", n.Addr().String(), "J004")
	scr.waitForLastLine("> ", "< checkin success to group#1 (members: J004)")

	scr.typeText("mision 4")
	scr.press("Enter")
	scr.waitForLastLine("> ", `< unknown command "mision"; type help to see the commands`, "< hint: did you mean mission?")
	scr.typeText("mis")
	scr.press("Tab")
	scr.waitForLastLine("> mission ")
	scr.typeText("4")
	scr.press("Enter")
	scr.waitForLastLine("> ", "> mission 4", `< keywords are "Heap, Stack"`)
	assert.NotContains(t, strings.Join(scr.screen("-e"), "\n"), "\x1b[3", "NO_COLOR: no colour")

	// Ctrl-D on an empty line leaves without checkout, and wipes the prompt.
	scr.press("C-d")
	assert.Equal(t, "0", scr.exitStatus())
	lines := scr.screen()
	assert.Equal(t, `< keywords are "Heap, Stack"`, lines[len(lines)-2], "no prompt is left behind")
}

// lineWith returns the first of lines that contains want.
func lineWith(lines []string, want string) string {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return l
		}
	}
	return ""
}

// waitForCursor waits until the cursor is in column col.
func (s *tmuxScreen) waitForCursor(col int) {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("the cursor in column %d", col), func([]string) bool {
		c, _ := s.cursor()
		return c == col
	})
}

func TestConnectInTmuxEditsEmojiAndJoinedSequencesWithTheCursorInPlace(t *testing.T) {
	n := startE2ENode(t)
	bin := buildCampbus(t)
	scr := startTmux(t, nil, bin, "connect", "--addr", n.Addr().String(), "J004")
	scr.waitForLastLine("> ", "< checkin success to group#1 (members: J004)")
	j005, _ := dialCamper(t, n, "J005")
	doOK(t, j005, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 5})
	scr.waitForLastLine("> ", "< peersession started by J005 (maxCount=5)")

	// Emoji two columns wide, a family of three joined by zero-width
	// joiners, a flag (two regional indicators) and an e with a combining
	// accent: each drawn as one, and the cursor after them all.
	const family, flag, accented = "👨\u200d👩\u200d👧", "🇰🇷", "e\u0301"
	start := "> message 🚀✅☕⭐ "
	scr.typeText(start[2:] + family + " " + flag + " " + accented + "!")
	typed := start + family + " " + flag + " " + accented + "!"
	scr.waitForLastLine(typed)
	scr.waitForCursor(textWidth(typed))

	// Left four times: over "!", the accented e, the space, the flag.
	scr.press("Left", "Left", "Left", "Left")
	scr.waitForCursor(textWidth(start + family + " "))
	// Twice more, over the space and the whole family; Delete takes the
	// family whole.
	scr.press("Left", "Left", "DC")
	scr.waitForLastLine(start + " " + flag + " " + accented + "!")
	scr.waitForCursor(textWidth(start))
	// Backspace twice: the space, then the star.
	scr.press("BSpace", "BSpace")
	edited := "> message 🚀✅☕ " + flag + " " + accented + "!"
	scr.waitForLastLine(edited)
	scr.waitForCursor(textWidth("> message 🚀✅☕"))

	// An event printed above leaves the line and the cursor where they were.
	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "👍🏽"})
	scr.waitForLastLine(edited, `< message from J005, "👍🏽"`)
	scr.waitForCursor(textWidth("> message 🚀✅☕"))

	scr.press("Enter")
	got := expectEvent(t, j005, campbus.EventMessage)
	assert.Equal(t, "🚀✅☕ "+flag+" "+accented+"!", got.Text)
}
