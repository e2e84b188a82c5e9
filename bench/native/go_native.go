// SPDX-License-Identifier: GPL-2.0

// bench/native: Go's classic runtime map (Go 1.19, map[uint64]uint64, the
// fast64 paths) on the key stream and plan of keys.h, restated here:
//
//	key(i) = splitmix64 finalizer of (i+1)*0x9e3779b97f4a7c15
//	hits key(0..n-1), misses key(n..2n-1), value = key ^ 0x5555555555555555
//	reps = max(1, T/n) fresh maps (make, no hint): insert, lookup hits,
//	lookup misses, delete all, each timed; churn: n/2 entries, then
//	max(n, T)/2 pairs insert ring(j+n/2), delete ring(j), ring = 2n keys.
//
// Built with a plain `go build`; the runtime's defaults (GOGC=100, the
// garbage collector running when it likes, also inside timed phases).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

const (
	golden   = 0x9e3779b97f4a7c15
	valueXor = 0x5555555555555555
)

func key(i uint64) uint64 {
	z := (i + 1) * golden
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

var (
	n      = flag.Uint64("n", 0, "entries")
	target = flag.Uint64("t", 4000000, "operations per measurement, at least")
	run    = flag.String("r", "0", "run label, echoed")
	dflag  = flag.Bool("D", false, "memory after a 90% drain, nothing else")
)

// drain (-D): the heap a map holds once keys 0..n-1 went in and 9 in 10 of
// them went out again (Go's map never shrinks), and a fresh map of the kept
// keys: runtime.MemStats.HeapAlloc after a GC, less what it was before.
func drain(keys []uint64) {
	for fresh := 0; fresh < 2; fresh++ {
		var s0, s1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&s0)
		m := make(map[uint64]uint64)
		for i, k := range keys[:*n] {
			if fresh == 0 || i%10 == 0 {
				m[k] = k ^ valueXor
			}
		}
		t0 := time.Now()
		for i, k := range keys[:*n] {
			if fresh == 0 && i%10 != 0 {
				delete(m, k)
			}
		}
		d := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&s1)
		name := "noshrink"
		if fresh == 1 {
			name = "fresh"
		}
		bytes := s1.HeapAlloc - s0.HeapAlloc
		fmt.Printf("native-drain: impl=go n=%d map=%s live=%d bytes=%d bytes_per_entry=%.2f delete_ns=%d\n",
			*n, name, len(m), bytes, float64(bytes)/float64(len(m)), d.Nanoseconds())
		runtime.KeepAlive(m)
	}
}

func report(workload string, ops uint64, d time.Duration, check uint64) {
	ns := uint64(d.Nanoseconds())
	fmt.Printf("native: impl=go n=%d run=%s workload=%s ops=%d ns=%d nsop=%.3f check=%016x\n",
		*n, *run, workload, ops, ns, float64(ns)/float64(ops), check)
}

// The phases callgrind counts (run.sh), one function each, none inlined:
// its instructions per operation are a function's inclusive count over the
// operations it did.

// lookupsHit and lookupsMiss: the sum of the values found and how many were
// found; each has its own copy of the loop, so that callgrind counts their
// calls into the map apart.
//
//go:noinline
func lookupsHit(m map[uint64]uint64, keys []uint64) (sum, found uint64) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			sum += v
			found++
		}
	}
	return
}

//go:noinline
func lookupsMiss(m map[uint64]uint64, keys []uint64) (sum, found uint64) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			sum += v
			found++
		}
	}
	return
}

//go:noinline
func inserts(m map[uint64]uint64, keys []uint64) {
	for _, k := range keys {
		m[k] = k ^ valueXor
	}
}

//go:noinline
func deletes(m map[uint64]uint64, keys []uint64) {
	for _, k := range keys {
		delete(m, k)
	}
}

// Insert ring(in), delete ring(out), pairs times, over a ring of len(keys).
//
//go:noinline
func churn(m map[uint64]uint64, keys []uint64, pairs, in, out uint64) {
	ring := uint64(len(keys))
	for i := uint64(0); i < pairs; i++ {
		k := keys[in]
		m[k] = k ^ valueXor
		delete(m, keys[out])
		if in++; in == ring {
			in = 0
		}
		if out++; out == ring {
			out = 0
		}
	}
}

// Each key's index depends on the value the previous lookup found (dep is
// 0 at run time): lookups cannot overlap. A latency diagnostic.
//
//go:noinline
func lookupsDep(m map[uint64]uint64, keys []uint64, dep uint64) (sum, found uint64) {
	var v uint64
	for i := range keys {
		if x, ok := m[keys[uint64(i)+(v&dep)]]; ok {
			v = x
			sum += x
			found++
		}
	}
	return
}

func main() {
	flag.Parse()
	if *n < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_native -n ENTRIES [-t TARGET_OPS] [-r RUN]")
		os.Exit(2)
	}
	N := *n
	keys := make([]uint64, 2*N)
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	if *dflag {
		drain(keys)
		return
	}
	reps := *target / N
	if reps == 0 {
		reps = 1
	}
	var dIns, dHit, dMiss, dDel, dDep time.Duration
	var ckIns, ckHit, ckMiss, ckDel, ckDep uint64
	dep := uint64(len(os.Args)) >> 60 // 0, unknown to the compiler
	for r := uint64(0); r < reps; r++ {
		m := make(map[uint64]uint64)
		t0 := time.Now()
		inserts(m, keys[:N])
		dIns += time.Since(t0)
		ckIns += uint64(len(m))

		t0 = time.Now()
		sum, found := lookupsHit(m, keys[:N])
		dHit += time.Since(t0)
		if found != N {
			fmt.Fprintf(os.Stderr, "go: lookup_hit found %d of %d\n", found, N)
			os.Exit(1)
		}
		ckHit += sum

		t0 = time.Now()
		_, found = lookupsMiss(m, keys[N:])
		dMiss += time.Since(t0)
		ckMiss += found

		t0 = time.Now()
		sum, found = lookupsDep(m, keys[:N], dep)
		dDep += time.Since(t0)
		if found != N {
			fmt.Fprintf(os.Stderr, "go: lookup_hit_dep found %d of %d\n", found, N)
			os.Exit(1)
		}
		ckDep += sum

		t0 = time.Now()
		deletes(m, keys[:N])
		dDel += time.Since(t0)
		ckDel += uint64(len(m))
	}
	ops := reps * N
	report("insert", ops, dIns, ckIns)
	report("lookup_hit", ops, dHit, ckHit)
	report("lookup_miss", ops, dMiss, ckMiss)
	report("lookup_hit_dep", ops, dDep, ckDep)
	report("delete", ops, dDel, ckDel)

	m := make(map[uint64]uint64)
	for _, k := range keys[:N/2] {
		m[k] = k ^ valueXor
	}
	pairs := N
	if *target > N {
		pairs = *target
	}
	pairs /= 2
	t0 := time.Now()
	churn(m, keys, pairs, N/2, 0)
	report("churn", 2*pairs, time.Since(t0), uint64(len(m)))
}
