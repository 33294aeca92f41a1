// Package fault holds the misbehaviour a test asks the control plane for: failing the
// next calls of an operation with a given error, delaying answers, and withholding ACS
// acknowledgements. The server consults a Set on every call; tests set it in-process or
// through the admin API.
package fault
