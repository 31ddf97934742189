/// Where a node runs CPU-bound work that takes time in proportion to what a client sent
/// (decoding a push body and its states): off the cooperative pool when a server can, so that
/// one client's large request does not hold the threads every other request is served on.
public protocol CPUWork: Sendable {
    /// Runs `work` and returns what it returns; throws what it throws, or an error of its own
    /// when it cannot run work any longer (it was shut down).
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T
}

/// Runs the work in the caller's task, on whatever thread it is on (tests, `station sync`'s
/// in-process peers).
public struct InlineCPUWork: CPUWork {
    public init() {}
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T { try work() }
}
