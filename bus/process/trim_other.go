//go:build !linux

package process

import "runtime/debug"

// trimStartup frees the heap start-up no longer needs; the binary's pages are left
// to the kernel.
func trimStartup() int {
	debug.FreeOSMemory()
	return 0
}
