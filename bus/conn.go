package bus

import (
	"strconv"
	"strings"
)

// Instance names one run of a node: the node's name and a token made fresh
// at every start ("n1" and "3fa9c2d1"). A node that restarts under the same
// name is another instance, so the campers of its previous run can be told
// apart from those of the running one.
type Instance struct {
	Node string
	Run  string
}

// String returns "node.run", the form that starts its connection ids.
func (i Instance) String() string { return i.Node + "." + i.Run }

// ConnID is how the bus names one front-end connection: the instance that
// accepted it and its number there ("n1.3fa9c2d1.42"). It travels in the
// Campbus-Conn header and is stored with each checked-in camper.
func (i Instance) ConnID(n uint64) string {
	return i.String() + "." + strconv.FormatUint(n, 10)
}

// InstanceOf returns the instance a connection id belongs to. ok is false
// for an id of another form (for instance one stored by an older campbus,
// "n1.42"): its node is then all that is known, in Node.
func InstanceOf(conn string) (in Instance, ok bool) {
	parts := strings.Split(conn, ".")
	switch len(parts) {
	case 3:
		return Instance{Node: parts[0], Run: parts[1]}, true
	case 2:
		return Instance{Node: parts[0]}, false
	default:
		return Instance{}, false
	}
}
