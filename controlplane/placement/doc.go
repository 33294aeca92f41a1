// Package placement chooses the container instance a new task goes to. It is a pure
// function of the task's requirements, its placement constraints (memberOf,
// distinctInstance) and each candidate's attributes and remaining resources, so the
// state store can call it under its lock and tests can drive it with plain values.
package placement
