/// Hands memory the allocator holds but no longer uses back to the system.
///
/// Restoring the journey engine (at start, after a reconnect, after a reload that changed
/// the journeys) reads a snapshot of every open instance: many short-lived allocations that
/// glibc keeps in its heap afterwards. Without this, resident memory stays at that peak
/// for the life of the process (the soak showed a 56 MiB step after a PostgreSQL restart).
enum FreedMemory {
    static func release() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (declared in `<malloc.h>`, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
