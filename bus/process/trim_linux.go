package process

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimStartup hands back to the kernel what start-up used once: the heap it no
// longer needs, and the pages of the binary it ran through (the SDKs' model
// building, the store's recovery), which the kernel maps 64 KiB at a time, so that
// most of a large binary would otherwise stay resident. Pages in use come back on
// their next touch. It reports how many bytes of the binary's mappings it advised.
func trimStartup() int {
	debug.FreeOSMemory()
	exe, err := os.Executable()
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	advised := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// address perms offset dev inode path; only the binary's read-only mappings
		// (text, rodata): its writable data is anonymous once touched.
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno == 0 {
			advised += int(end - start)
		}
	}
	return advised
}
