package handlers

import (
	"context"
	"net/http"

	"github.com/campbus/campbus"
)

// mission handles POST /mission {"day":4}: the keywords of that day's mission.
func (s *Service) mission(_ context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	day, ok := f.integer("day", 1, 1<<53-1)
	if !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadDay, `"day" must be a positive integer`)
	}
	kw, ok := campbus.MissionKeywords(day)
	if !ok {
		return nil, campbus.Errorf(http.StatusNotFound, campbus.CodeNoMission, "there is no mission on day %d", day)
	}
	return campbus.MissionResponse{Day: day, Keywords: kw}, nil
}
