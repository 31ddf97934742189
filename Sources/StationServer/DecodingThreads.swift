import NIOCore
import NIOPosix
import ServiceLifecycle
import StationSync

/// The threads `hub serve` and `station serve` decode pushes on (``CPUWork``): one fewer than
/// the machine's cores, at least one, so that at least one core's worth of the cooperative pool
/// keeps serving sessions, pulls and health checks while pushes decode.
///
/// Threads, not tasks, for a documented reason: decoding a 30 MB push is seconds of CPU in one
/// synchronous call, and on the cooperative pool (one thread per core) two such pushes held
/// every thread: `/v1/health` took 31 s and an honest station's sync 25 s instead of 0.09 s
/// (review 16, G2). Started with the server and shut down after it (a `Service`).
public final class DecodingThreads: CPUWork, Service {
    private let pool: NIOThreadPool

    /// `threads`: how many (default: cores − 1, at least 1).
    public init(threads: Int = max(1, System.coreCount - 1)) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }

    /// Waits for the group's shutdown (after the server's), then stops the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }
}
