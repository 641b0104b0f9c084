package campbus

// missionKeywords is the keyword table of MISSION-SPEC.md §2, exactly as written.
// Days 5, 10, 15, 20 and anything past 19 have no mission.
var missionKeywords = map[int]string{
	1: "IDE, node", 2: "Linux, Shell", 3: "Crawling, LRU", 4: "Heap, Stack",
	6: "XML, XPath", 7: "Object, Class", 8: "CountSet, Closure", 9: "Process, Thread",
	11: "Path, UnitTest", 12: "Git, Objects", 13: "OSI, TCP/IP", 14: "HTTP, Request",
	16: "Event, Async", 17: "Food, Delivery", 18: "SQL, Report", 19: "Network, Server",
}

// MissionKeywords returns the keywords of the mission on day, and false when
// that day has no mission.
func MissionKeywords(day int) (string, bool) {
	k, ok := missionKeywords[day]
	return k, ok
}
