package main

import (
	"sync"
	"sync/atomic"
)

// inParallel calls do(i) for every i in [0, n), on up to jobs goroutines,
// and returns when every call has. Each goroutine takes the next index
// from a counter: with a channel fed by the caller, a worker done with one
// item waited for the feeding goroutine to be scheduled (it sat runnable
// behind the busy workers), which left a core idle for ~2 ms per file at
// --jobs 2. Once stop reports true no new item is started (nil: never).
func inParallel(n, jobs int, stop func() bool, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(min(jobs, n), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || stop != nil && stop() {
					return
				}
				do(i)
			}
		}()
	}
	wg.Wait()
}
