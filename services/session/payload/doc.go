// Package payload translates the tasks of an ACS PayloadMessage into the bus's
// TaskSpec. It is the edge where the control plane's wire shapes stop: nothing past
// it sees an ACS type. Translation is pure so that every rule (overrides, accepted
// desired statuses, volume types, port protocols) can be table-tested.
package payload
