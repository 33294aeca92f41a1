package process

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The binary's read-only pages are advised out: the resident file pages shrink.
func TestTrimStartup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("madvise(MADV_PAGEOUT) is Linux's")
	}
	before := rssFile(t)
	n := trimStartup()
	if n == 0 {
		t.Fatal("no mapping of the binary was advised")
	}
	if after := rssFile(t); after >= before {
		t.Errorf("RssFile %d kB before, %d kB after advising %d bytes", before, after, n)
	}
}

func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

func TestHeapStats(t *testing.T) {
	buf := make([][]byte, 0, 64)
	for range 64 {
		buf = append(buf, make([]byte, 256<<10))
	}
	buf = nil
	runtime.GC()
	c, free := heapStats()
	if c == 0 || free == 0 {
		t.Fatalf("collections %d, free heap %d after freeing 16 MiB", c, free)
	}
	_ = buf
}
