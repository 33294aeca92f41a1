package acs

import "encoding/json"

// refusalTypes are the error types a refused websocket upgrade may name (ACS and TCS
// alike).
var refusalTypes = []string{
	TypeServerException, TypeBadRequestException, TypeInvalidClusterException,
	TypeInvalidInstanceException, TypeAccessDeniedException, TypeInactiveInstanceException,
}

// RefusalText decodes a refused upgrade's body, framed
// ({"type":"T","message":{"message":"m"}}) or not ({"T":"m"}), into "T: m"; it
// returns "" for a body that names no known error.
func RefusalText(body []byte) string {
	var framed struct {
		Type    string           `json:"type"`
		Message ExceptionMessage `json:"message"`
	}
	if json.Unmarshal(body, &framed) == nil && isRefusalType(framed.Type) {
		return framed.Type + ": " + framed.Message.Message
	}
	var bare map[string]json.RawMessage
	if json.Unmarshal(body, &bare) == nil {
		for _, t := range refusalTypes {
			raw, ok := bare[t]
			if !ok {
				continue
			}
			var msg string
			if json.Unmarshal(raw, &msg) != nil {
				msg = string(raw)
			}
			return t + ": " + msg
		}
	}
	return ""
}

func isRefusalType(t string) bool {
	for _, k := range refusalTypes {
		if t == k {
			return true
		}
	}
	return false
}
