package session

import (
	"hash/maphash"
	"sync"
)

// registryShards is how many locks the registry spreads its groups and its
// campIds over.
const registryShards = 64

// registry knows, on this node, which sessions get each group's events and
// which sessions hold (or are checking in as) each campId, for directs.
// Both maps are sharded: a lock guards one shard's map, and is held only
// to change it or to copy out the few sessions of one group or campId.
type registry struct {
	seed    maphash.Seed
	groups  [registryShards]groupShard
	campers [registryShards]camperShard
}

type groupShard struct {
	mu sync.Mutex
	m  map[int]map[*Session]string // group -> attached sessions -> campId
}

type camperShard struct {
	mu sync.Mutex
	m  map[string]map[*Session]bool // campId -> sessions holding or claiming it
}

func (r *registry) init() {
	r.seed = maphash.MakeSeed()
	for i := range r.groups {
		r.groups[i].m = map[int]map[*Session]string{}
		r.campers[i].m = map[string]map[*Session]bool{}
	}
}

func (r *registry) groupShard(n int) *groupShard { return &r.groups[uint(n)%registryShards] }

func (r *registry) camperShard(campID string) *camperShard {
	return &r.campers[maphash.String(r.seed, campID)%registryShards]
}

// target is one session an event goes to, and the campId it holds there.
type target struct {
	s      *Session
	campID string
}

// groupEvent updates group n's fan-out for one event and returns who gets
// it: join attaches the joining session (if it is on this node) before the
// copy; checkout detaches the leaving camper after it. origin gets no copy.
func (r *registry) groupEvent(n int, join *Session, joinID string, leaving string, origin string, out []target) []target {
	sh := r.groupShard(n)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	members := sh.m[n]
	if join != nil && join.attach(n) {
		if members == nil {
			members = map[*Session]string{}
			sh.m[n] = members
		}
		members[join] = joinID
	}
	for s, campID := range members {
		if campID != origin {
			out = append(out, target{s, campID})
		}
	}
	if leaving != "" {
		for s, campID := range members {
			if campID == leaving {
				delete(members, s)
				s.detach(n)
			}
		}
		if len(members) == 0 {
			delete(sh.m, n)
		}
	}
	return out
}

// holders copies out the sessions holding campID.
func (r *registry) holders(campID string, out []*Session) []*Session {
	sh := r.camperShard(campID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for s := range sh.m[campID] {
		out = append(out, s)
	}
	return out
}

// claim records that s is checking in, or checked in, as campID, so that
// directs to campID reach it from the first moment they can exist.
func (r *registry) claim(s *Session, campID string) {
	if !s.addClaim(campID) {
		return // s has ended: it must not be found again
	}
	sh := r.camperShard(campID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[campID] == nil {
		sh.m[campID] = map[*Session]bool{}
	}
	sh.m[campID][s] = true
}

func (r *registry) unclaim(s *Session, campID string) {
	s.dropClaim(campID)
	sh := r.camperShard(campID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m := sh.m[campID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(sh.m, campID)
		}
	}
}

// remove forgets s in every group and campId it is known under.
func (r *registry) remove(s *Session) {
	group, claims := s.retire()
	if group != 0 {
		sh := r.groupShard(group)
		sh.mu.Lock()
		if m := sh.m[group]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(sh.m, group)
			}
		}
		sh.mu.Unlock()
	}
	for _, campID := range claims {
		r.unclaim(s, campID)
	}
}
