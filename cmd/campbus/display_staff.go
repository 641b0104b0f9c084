package main

// The lines connect --staff shows for the staff's responses.

import (
	"fmt"
	"strings"

	"github.com/campbus/campbus"
)

func staffLine(body campbus.StaffResponse) string {
	line := "< signed in as staff " + printable(body.Name)
	if body.Expires != "" {
		line += " (the token holds until " + printable(body.Expires) + ")"
	}
	return line
}

// boardLines show a board as a table: a header with the counts, a row per
// group (its members, its session's host and messages/maxCount), then who
// is muted until when.
func boardLines(body campbus.BoardResponse) []string {
	lines := []string{fmt.Sprintf("< board: %s checked in, %s",
		countOf(body.CheckedIn, "camper", "campers"), countOf(len(body.Groups), "group", "groups"))}
	rows := [][3]string{{"group", "members", "session"}}
	for _, g := range body.Groups {
		session := "-"
		if g.Session != nil {
			session = fmt.Sprintf("host %s, %d/%d messages", g.Session.Host, g.Session.Messages, g.Session.MaxCount)
		}
		rows = append(rows, [3]string{fmt.Sprintf("group#%d", g.Group), strings.Join(g.Members, ", "), session})
	}
	if len(body.Groups) == 0 {
		lines = append(lines, "<   no group has members")
	} else {
		var widths [2]int
		for _, r := range rows {
			widths[0] = max(widths[0], textWidth(r[0]))
			widths[1] = max(widths[1], textWidth(r[1]))
		}
		for _, r := range rows {
			line := "<   " + padRight(r[0], widths[0]) + "  " + padRight(r[1], widths[1]) + "  " + r[2]
			lines = append(lines, strings.TrimRight(line, " "))
		}
	}
	if len(body.Muted) == 0 {
		return append(lines, "<   nobody is muted")
	}
	for _, m := range body.Muted {
		line := fmt.Sprintf("<   muted: %s until %s", printable(m.CampID), printable(m.Until))
		if m.By != "" {
			line += " (by " + printable(m.By) + ")"
		}
		lines = append(lines, line)
	}
	return lines
}

func padRight(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-textWidth(s)))
}

func announceLine(body campbus.AnnounceResponse) string {
	return fmt.Sprintf("< announced to %s in %s",
		countOf(body.Reached, "camper", "campers"), countOf(body.Groups, "group", "groups"))
}

func muteLine(body campbus.MuteResponse) string {
	if body.Until == "" {
		return fmt.Sprintf("< %s may write again (mute lifted)", printable(body.CampID))
	}
	return fmt.Sprintf("< %s muted until %s", printable(body.CampID), printable(body.Until))
}

func kickLine(body campbus.KickResponse) string {
	return fmt.Sprintf("< %s checked out of group#%d and disconnected", printable(body.CampID), body.Group)
}

func redactLine(body campbus.RedactResponse) string {
	return fmt.Sprintf("< the message at offset %d of group#%d is redacted: history shows it without its text", body.Offset, body.Group)
}

func revokeLine(body campbus.RevokeResponse) string {
	line := fmt.Sprintf("< %s's tokens issued up to %s are refused from now on", printable(body.CampID), printable(body.Before))
	if body.Group > 0 {
		line += fmt.Sprintf("; it was checked out of group#%d and disconnected", body.Group)
	}
	return line
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
