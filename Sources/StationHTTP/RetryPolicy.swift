import Foundation

/// Retries an operation on transient errors, with exponential backoff and full jitter.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first one included (values below 1 mean 1).
    public var maxAttempts = 5
    /// Seconds: the cap of the first delay.
    public var initialDelay = 0.2
    /// Seconds: no delay is ever longer than this.
    public var maxDelay = 10.0
    /// Growth of the cap per retry.
    public var multiplier = 2.0

    public init(maxAttempts: Int = 5, initialDelay: Double = 0.2, maxDelay: Double = 10.0, multiplier: Double = 2.0) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
    }

    /// Runs `operation` (passed the attempt number, starting at 1) until it succeeds, throws an
    /// error `isTransient` rejects, or `maxAttempts` attempts have failed; then rethrows that
    /// error unchanged. Between attempts it calls `onRetry(failedAttempt, error, delay)` and then
    /// `sleep(delay)`, where the delay after attempt k is `delay(forAttempt: k - 1)`.
    public func run<T>(
        isTransient: (any Error) -> Bool,
        sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
        onRetry: ((Int, any Error, Double) -> Void)? = nil,
        _ operation: (Int) throws -> T
    ) throws -> T {
        let attempts = max(1, maxAttempts)
        var rng = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            do {
                return try operation(attempt)
            } catch {
                guard attempt < attempts, isTransient(error) else { throw error }
                let wait = delay(forAttempt: attempt - 1, using: &rng)
                onRetry?(attempt, error, wait)
                sleep(wait)
                attempt += 1
            }
        }
    }

    /// The delay before retry number `n` (0 for the first retry): uniformly random in
    /// `0 ... min(maxDelay, initialDelay * multiplier^n)` ("full jitter").
    public func delay(forAttempt n: Int, using rng: inout some RandomNumberGenerator) -> Double {
        let cap = self.cap(forAttempt: n)
        guard cap > 0 else { return 0 }
        return Double.random(in: 0...cap, using: &rng)
    }

    /// The upper bound of `delay(forAttempt: n)`.
    public func cap(forAttempt n: Int) -> Double {
        let ceiling = max(0, maxDelay)
        let grown = max(0, initialDelay) * pow(max(0, multiplier), Double(max(0, n)))
        guard grown.isFinite else { return ceiling.isFinite ? ceiling : 0 }
        let cap = min(ceiling, grown)
        return cap.isFinite ? cap : 0
    }
}
