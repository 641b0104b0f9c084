package main

// The lines the client shows for responses and events. MISSION-SPEC §3 pins
// some of their forms (group#N, keywords are "...", message from J005, "...",
// active time ...): people and scripts know them, so they live here together.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

func checkinLine(body campbus.CheckinResponse) string {
	return fmt.Sprintf("< checkin success to group#%d (members: %s)", body.Group, strings.Join(body.Members, ", "))
}

func missionLine(body campbus.MissionResponse) string {
	return fmt.Sprintf("< keywords are \"%s\"", printable(body.Keywords))
}

func peerSessionLine(body campbus.PeerSessionResponse) string {
	return fmt.Sprintf("< peersession started (maxCount=%d)", body.MaxCount)
}

func completeLine(body campbus.CompleteResponse) string {
	return fmt.Sprintf("< peersession completed (%s)", countMessages(body.Messages))
}

func messageLine(body campbus.MessageResponse) string {
	return fmt.Sprintf("< message sent (seq %d, %d remaining, delivered to %d)", body.Seq, body.Remaining, body.Delivered)
}

// directLine answers a direct that was delivered.
const directLine = "< direct (success)"

// checkoutLines answer a checkout after active time checked in.
func checkoutLines(active time.Duration) []string {
	return []string{"< checkout (disconnected)", "< active time " + formatActiveTime(active)}
}

// failedLine shows an error response: the server's sentence, made printable.
func failedLine(command string, e *campbus.Error) string {
	return fmt.Sprintf("< %s failed: %s", command, printable(e.Message))
}

// formatEvent returns the line that shows an event as it arrives.
func formatEvent(ev client.Event) string {
	return "< " + describeEvent(ev, false)
}

// historyLines show a history response: a header, then each stored event in
// the form of a live one, indented under it. A history mixes the directs a
// camper sent with those it received, so directs also name their recipient.
func historyLines(events []json.RawMessage) []string {
	noun := "events"
	if len(events) == 1 {
		noun = "event"
	}
	lines := make([]string, 0, 1+len(events))
	lines = append(lines, fmt.Sprintf("< history (%d %s)", len(events), noun))
	for _, raw := range events {
		ev := client.Event{Raw: raw}
		if !decodeStored(raw, &ev) {
			ev.Type = "unknown" // shown raw, as an unknown live event would be
		}
		lines = append(lines, "<   "+describeEvent(ev, true))
	}
	return lines
}

// decodeStored decodes an event of a history response, which carries its
// own "type", and reports whether it could.
func decodeStored(raw []byte, ev *client.Event) bool {
	return json.Unmarshal(raw, &ev.Event) == nil && ev.Type != ""
}

// describeEvent returns what an event line says after its "< ". withTo names
// the recipient of a direct.
func describeEvent(ev client.Event, withTo bool) string {
	switch ev.Type {
	case campbus.EventJoin:
		return fmt.Sprintf("%s joined group#%d (members: %s)", ev.CampID, ev.Group, strings.Join(ev.Members, ", "))
	case campbus.EventCheckout:
		line := fmt.Sprintf("%s left group#%d", ev.CampID, ev.Group)
		switch ev.Reason {
		case campbus.ReasonDisconnect:
			line += " (disconnected)"
		case campbus.ReasonKicked:
			line += " (kicked by staff)"
		}
		return line
	case campbus.EventPeerSession:
		return fmt.Sprintf("peersession started by %s (maxCount=%d)", ev.Host, ev.MaxCount)
	case campbus.EventMessage:
		if ev.Redacted {
			return fmt.Sprintf("message from %s (redacted by %s, staff)", ev.From, printable(ev.RedactedBy))
		}
		return fmt.Sprintf("message from %s, \"%s\"", ev.From, printable(ev.Text))
	case campbus.EventRedacted:
		return fmt.Sprintf("%s (staff) redacted the message at offset %d of group#%d", printable(ev.By), ev.Offset, ev.Group)
	case campbus.EventComplete:
		messages := countMessages(derefInt(ev.Messages))
		if ev.Reason == campbus.ReasonHostLeft {
			return fmt.Sprintf("peersession ended, host %s left (%s)", ev.Host, messages)
		}
		return fmt.Sprintf("peersession completed by %s (%s)", ev.Host, messages)
	case campbus.EventDirect:
		if withTo && ev.To != "" {
			return fmt.Sprintf("direct from %s to %s, \"%s\"", ev.From, ev.To, printable(ev.Text))
		}
		return fmt.Sprintf("direct from %s, \"%s\"", ev.From, printable(ev.Text))
	case campbus.EventShutdown:
		return "server shutting down"
	case campbus.EventAnnouncement:
		return fmt.Sprintf("announcement from %s (staff), \"%s\"", printable(ev.From), printable(ev.Text))
	case campbus.EventMuted:
		if ev.Until == "" {
			return fmt.Sprintf("%s (staff) lifted your mute", printable(ev.By))
		}
		return fmt.Sprintf("%s (staff) muted you until %s: your messages and directs reach nobody until then", printable(ev.By), printable(ev.Until))
	case campbus.EventKicked:
		line := fmt.Sprintf("%s (staff) checked you out", printable(ev.By))
		if ev.Reason != "" {
			line += fmt.Sprintf(": \"%s\"", printable(ev.Reason))
		}
		return line
	default: // a newer server's event: show it rather than hide it
		return fmt.Sprintf("%s event %s", printable(ev.Type), printable(string(ev.Raw)))
	}
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func countMessages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// formatActiveTime shows a duration as "1h 2m 3s", "2m 3s" or "3s", in whole
// seconds.
func formatActiveTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	total := int64(d / time.Second)
	h, m, sec := total/3600, total/60%60, total%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	default:
		return fmt.Sprintf("%ds", sec)
	}
}

// printable replaces control characters and invalid UTF-8 in text that came
// from other people with escapes, so that it cannot break lines or drive the
// terminal. Other characters, Hangul included, stay as they are.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
