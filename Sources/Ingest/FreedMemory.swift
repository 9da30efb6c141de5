/// Hands memory the allocator holds but no longer uses back to the system.
///
/// Batches allocate and free many small objects (events, their strings, staging rows)
/// between the journey state's long-lived ones, and glibc returns a heap's free pages only
/// from its top: without trimming, a daemon holding a million open instances kept about as
/// much freed memory again as the instances use (issue 6, figure 3). Restoring the journey
/// engine (at start, after a reconnect, after a reload that changed the journeys) reads a
/// snapshot of every open instance: many short-lived allocations that glibc keeps in its
/// heap afterwards. Without this, resident memory stays at that peak for the life of the
/// process (the soak showed a 56 MiB step after a PostgreSQL restart).
public enum FreedMemory {
    static func release() {
        #if os(Linux)
            _ = glibcMallocTrim(0)
        #endif
    }

    /// Allocations from this size on get their own mapping, returned to the system when freed.
    static let mmapThreshold: Int32 = 1 << 20
    /// Free memory at the top of a heap beyond this is returned to the system.
    static let trimThreshold: Int32 = 2 << 20

    /// Fixes glibc's thresholds for the daemon (call once, at start).
    ///
    /// By default glibc raises both with every large block freed: once the journey state's
    /// arrays have grown (freeing their smaller predecessors of up to 32 MiB), each thread's
    /// heap keeps up to 64 MiB free at its top, resident, forever. With a million open
    /// instances that was 110 MiB over three heaps. Operators who set `MALLOC_MMAP_THRESHOLD_`
    /// or `MALLOC_TRIM_THRESHOLD_` keep their values.
    public static func configureAllocator(environment: [String: String]) {
        #if os(Linux)
            guard environment["MALLOC_MMAP_THRESHOLD_"] == nil, environment["MALLOC_TRIM_THRESHOLD_"] == nil else {
                return
            }
            _ = glibcMallopt(mallocOptionMmapThreshold, mmapThreshold)
            _ = glibcMallopt(mallocOptionTrimThreshold, trimThreshold)
        #endif
    }
}

#if os(Linux)
    /// glibc's `malloc_trim` (declared in `<malloc.h>`, which the Glibc module does not export).
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32

    /// glibc's `mallopt` and the two options used (`M_TRIM_THRESHOLD`, `M_MMAP_THRESHOLD`).
    @_silgen_name("mallopt")
    private func glibcMallopt(_ option: Int32, _ value: Int32) -> Int32
    private let mallocOptionTrimThreshold: Int32 = -1
    private let mallocOptionMmapThreshold: Int32 = -3
#endif
