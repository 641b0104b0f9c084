package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/internal/camptest"
)

// serverProcess is `campbus serve` running as a process of its own.
type serverProcess struct {
	cmd  *exec.Cmd
	addr string
}

var servingAddr = regexp.MustCompile(`msg="campbus serving".* addr=(\S+)`)

// buildCampbus builds the binary once for the test.
func buildCampbus(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "campbus")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// startServe starts `campbus serve` on a random port (unless flags give
// one) and waits for its "campbus serving" line.
func startServe(t *testing.T, bin, dataDir string, flags ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", "", "--monitor-addr", "", "--web-addr", "",
		"--data-dir", dataDir, "--rate", "0"}, flags...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	ended := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		ended <- lines
	}()
	select {
	case a := <-addr:
		return &serverProcess{cmd: cmd, addr: a}
	case lines := <-ended:
		t.Fatalf("campbus serve exited before serving:\n%s", strings.Join(lines, "\n"))
	case <-time.After(30 * time.Second):
		t.Fatal("campbus serve did not start in 30s")
	}
	return nil
}

func checkedInClient(t *testing.T, addr, id string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	resp, err := c.Do(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status, "%s", resp.Body)
	return c
}

func TestAKilledServerKeepsEveryAcknowledgedEventAndStartsClean(t *testing.T) {
	const messages = 200
	bin := buildCampbus(t)
	dir := t.TempDir()
	srv := startServe(t, bin, dir)

	host := checkedInClient(t, srv.addr, "J001")
	peer := checkedInClient(t, srv.addr, "J002")
	go func() { // peer's events are not under test; keep them flowing
		for range peer.Events() {
		}
	}()
	go func() {
		for range host.Events() {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := host.Do(ctx, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 10000})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	acked := 0
	for i := 0; i < messages; i++ {
		from := []*client.Client{host, peer}[i%2]
		resp, err := from.Do(ctx, campbus.CmdMessage, campbus.MessageRequest{Text: fmt.Sprint("m", i)})
		require.NoError(t, err)
		require.Equal(t, 200, resp.Status, "%s", resp.Body)
		acked++
	}

	// kill -9: no shutdown, no checkout.
	require.NoError(t, srv.cmd.Process.Kill())
	_ = srv.cmd.Wait()

	texts, checkouts := readGroupLog(t, dir, 1)
	require.Len(t, texts, acked, "every acknowledged message is in the log")
	for i, text := range texts {
		assert.Equal(t, fmt.Sprint("m", i), text)
	}
	assert.Empty(t, checkouts, "nobody was checked out by the crash itself")

	// The restarted server starts clean: the campers of before are checked
	// out (their group hears it in the log), their ids are free.
	srv = startServe(t, bin, dir)
	again := checkedInClient(t, srv.addr, "J001")
	resp, err = again.Do(ctx, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 1})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status, "the old session ended at restart: %s", resp.Body)
	resp, err = again.Do(ctx, campbus.CmdCheckout, nil)
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	require.NoError(t, srv.cmd.Process.Signal(os.Interrupt))
	require.NoError(t, srv.cmd.Wait(), "a clean exit after SIGINT")

	texts, checkouts = readGroupLog(t, dir, 1)
	assert.Len(t, texts, acked, "the log still holds every message")
	assert.Equal(t, []string{"J001", "J002", "J001"}, checkouts[:3],
		"checked out at restart (J001, J002), then J001's own checkout")
}

// readGroupLog returns, from a stopped server's data dir, the texts of group
// n's message events and the campIds of its checkout events, in order.
func readGroupLog(t *testing.T, dir string, n int) (texts, checkouts []string) {
	t.Helper()
	for _, ev := range camptest.GroupEvents(t, dir, bus.LogGroupSubject(n)) {
		switch ev.Type {
		case campbus.EventMessage:
			texts = append(texts, ev.Text)
		case campbus.EventCheckout:
			checkouts = append(checkouts, ev.CampID)
		}
	}
	return texts, checkouts
}

func TestConnectInTmuxReconnectsToAKilledAndRestartedServerAndShowsWhatItMissed(t *testing.T) {
	bin := buildCampbus(t)
	dir := t.TempDir()
	srv := startServe(t, bin, dir)
	scr := startTmux(t, nil, bin, "connect", "--addr", srv.addr, "J004")
	scr.waitForLastLine("> ", "< checkin success to group#1 (members: J004)")
	j005 := checkedInClient(t, srv.addr, "J005")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := j005.Do(ctx, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 5})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	scr.waitForLastLine("> ", "< J005 joined group#1 (members: J004, J005)", "< peersession started by J005 (maxCount=5)")

	// kill -9, and a line typed while the server is away.
	require.NoError(t, srv.cmd.Process.Kill())
	_ = srv.cmd.Wait()
	scr.waitForLastLine("> ", "< the connection to "+srv.addr+" ended; reconnecting (Ctrl-D stops)")
	scr.typeText("mission 4")
	scr.press("Enter")
	scr.waitForLastLine("< nothing listens on "+srv.addr+" yet; trying again", "> mission 4")

	// The server comes back on its data dir: it checks out the campers of
	// before, and the client, back, shows that as what it missed, then
	// runs the line typed meanwhile.
	srv = startServe(t, bin, dir, "--addr", srv.addr)
	lines := scr.waitForLastLine("> ",
		"< (missed) peersession ended, host J005 left (0 messages)",
		"< (missed) J005 left group#1 (disconnected)",
		`< keywords are "Heap, Stack"`)
	t.Logf("the screen after reconnecting:\n%s", strings.Join(lines, "\n"))
	reconnected := lineWith(lines, "< reconnected after ")
	assert.Regexp(t, `^< reconnected after [0-9.]+m?s; 2 missed events$`, reconnected)
	assert.Equal(t, 2, strings.Count(strings.Join(lines, "\n"), "(missed)"), "its own leaving and joining are not news")

	// Live again: J005 comes back, and it is shown as it happens.
	again := checkedInClient(t, srv.addr, "J005")
	resp, err = again.Do(ctx, campbus.CmdMessage, campbus.MessageRequest{Text: "다시 왔어요"})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, resp.Status, "the session ended at the restart")
	scr.waitForLastLine("> ", "< J005 joined group#1 (members: J004, J005)")
	scr.press("C-d")
	assert.Equal(t, "0", scr.exitStatus())
}

func TestTheBinaryExitsWith3AndSaysWhyWhenAPipedCheckinIsRefused(t *testing.T) {
	bin := buildCampbus(t)
	srv := startServe(t, bin, t.TempDir())
	checkedInClient(t, srv.addr, "J004") // J004 is checked in elsewhere

	for _, json := range []bool{false, true} {
		args := []string{"connect", "--addr", srv.addr, "J004"}
		if json {
			args = []string{"connect", "--addr", srv.addr, "--json", "J004"}
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader("mission 4\n")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "stdout:\n%s", stdout.String())
		assert.Equal(t, 3, exit.ExitCode())
		assert.Contains(t, stderr.String(), "campbus: connect: checkin as J004 refused (409 camp-id-in-use): ")
		assert.NotContains(t, stdout.String(), "mission")
		if json {
			assert.Contains(t, stdout.String(), `{"kind":"error","error":"connect: checkin as J004 refused (409 camp-id-in-use): `)
			assert.Contains(t, stdout.String(), `"exit":3}`)
		}
	}
}
