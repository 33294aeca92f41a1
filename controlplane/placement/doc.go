// Package placement chooses the container instance a new task goes to. It is a pure
// function of the task's requirements and each candidate's remaining resources, so the
// state store can call it under its lock and tests can drive it with plain values.
package placement
