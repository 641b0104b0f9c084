package main

import (
	"fmt"
	"strconv"

	"github.com/campbus/campbus"
)

// hintFor says what to do about an error response to command, whose request
// had body; "" when the server's sentence says enough.
func hintFor(command string, body any, e *campbus.Error) string {
	switch e.Code {
	case campbus.CodeNotCheckedIn:
		return "check in first: checkin J004"
	case campbus.CodeCampIDInUse:
		if req, ok := body.(campbus.CheckinRequest); ok {
			if next := nextCampID(req.CampID); next != "" {
				return fmt.Sprintf("someone is using %s; pick another campId, e.g. %s", req.CampID, next)
			}
		}
		return "someone is using that campId; pick another"
	case campbus.CodeAlreadyCheckedIn:
		return "you are checked in already; to use another campId, checkout and connect again"
	case campbus.CodeLimitReached:
		return "the session is full; its host ends it with complete, then anyone can start one: peersession 2"
	case campbus.CodeNoSession:
		if command == campbus.CmdComplete {
			return "there is no session to complete"
		}
		return "start a session first: peersession 2"
	case campbus.CodeSessionActive:
		return "join in with message <text>; the host ends it with complete"
	case campbus.CodeNotHost:
		return "the session ends when its host completes it or leaves"
	case campbus.CodeTargetNotCheckedIn:
		if command == campbus.CmdKick {
			return "board shows who is checked in"
		}
		return "directs reach only campers who are checked in; try again when they are"
	case campbus.CodeBadDay, campbus.CodeBadMaxCount, campbus.CodeBadLimit, campbus.CodeBadAfter, campbus.CodeBadMinutes:
		return "for example: " + lookupHelp(command).Example
	case campbus.CodeNoMission:
		return "try another day, e.g. mission 4"
	case campbus.CodeBadToken:
		if command == campbus.CmdStaff {
			return "give a staff token (campbus token --staff NAME mints one) with --token or CAMPBUS_TOKEN"
		}
		return "give your token with --token or CAMPBUS_TOKEN (whoever runs the camp hands them out)"
	case campbus.CodeForbidden:
		if lookupCommand(command).Staff {
			return "a staff token holds until it expires: mint another (campbus token --staff NAME) and connect --staff again"
		}
	case campbus.CodeRateLimited:
		return "wait a moment, then try again"
	case campbus.CodeStorageFull:
		return "the server's event log is full; mission and history still work; try again later"
	case campbus.CodeShuttingDown:
		return "the server is stopping; connect again once it is back"
	case campbus.CodeInternal:
		return "try again; if it keeps failing, tell whoever runs the server"
	}
	return ""
}

// lookupCommand returns the named command of campbus's table, or one that
// is nothing in particular.
func lookupCommand(name string) campbus.Command {
	for _, c := range campbus.Commands() {
		if c.Name == name {
			return c
		}
	}
	return campbus.Command{Name: name}
}

// nextCampID returns the campId after id (J004 → J005) to suggest in its
// place, or "" if id is not a letter and digits or is the last of its width.
func nextCampID(id string) string {
	if len(id) < 2 || id[0] < 'A' || id[0] > 'Z' {
		return ""
	}
	digits := id[1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return ""
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return ""
	}
	next := fmt.Sprintf("%c%0*d", id[0], len(digits), n+1)
	if len(next) != len(id) {
		return ""
	}
	return next
}
