import StationHTTP
import StationTestSupport
import Testing

private struct Flaky: Error, Equatable { var transient: Bool }

@Suite struct RetryPolicyTests {
    @Test func retriesTransientErrorsUntilSuccess() async throws {
        let policy = RetryPolicy(maxAttempts: 5, initialDelay: 0.2, maxDelay: 10, multiplier: 2)
        var slept: [Double] = []
        var retried: [(Int, Double)] = []
        var attempts: [Int] = []
        let value = try policy.run(
            isTransient: { ($0 as? Flaky)?.transient ?? false },
            sleep: { slept.append($0) },
            onRetry: { attempt, error, delay in
                #expect(error as? Flaky == Flaky(transient: true))
                retried.append((attempt, delay))
            }
        ) { attempt -> String in
            attempts.append(attempt)
            if attempt < 4 { throw Flaky(transient: true) }
            return "ok on \(attempt)"
        }
        #expect(value == "ok on 4")
        #expect(attempts == [1, 2, 3, 4])
        #expect(retried.map(\.0) == [1, 2, 3])
        #expect(retried.map(\.1) == slept)
        #expect(slept.count == 3)
        for (n, delay) in slept.enumerated() {
            #expect(delay >= 0 && delay <= 0.2 * Double(1 << n), "delay \(n) = \(delay)")
        }
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() {
        let policy = RetryPolicy(maxAttempts: 4)
        var attempts = 0
        var slept: [Double] = []
        #expect(throws: Flaky(transient: true)) {
            try policy.run(isTransient: { _ in true }, sleep: { slept.append($0) }) { _ -> Int in
                attempts += 1
                throw Flaky(transient: true)
            }
        }
        #expect(attempts == 4)
        #expect(slept.count == 3)  // no sleep after the last attempt
    }

    @Test func neverRetriesNonTransientErrors() {
        var attempts = 0
        var slept = 0
        #expect(throws: Flaky(transient: false)) {
            try RetryPolicy().run(isTransient: { ($0 as? Flaky)?.transient ?? false }, sleep: { _ in slept += 1 }) { _ -> Int in
                attempts += 1
                throw Flaky(transient: false)
            }
        }
        #expect(attempts == 1)
        #expect(slept == 0)

        // Transient first, then permanent: stops at the permanent one.
        attempts = 0
        #expect(throws: Flaky(transient: false)) {
            try RetryPolicy().run(isTransient: { ($0 as? Flaky)?.transient ?? false }, sleep: { _ in }) { attempt -> Int in
                attempts += 1
                throw Flaky(transient: attempt < 2)
            }
        }
        #expect(attempts == 2)
    }

    @Test func oneAttemptMeansNoRetry() {
        for maxAttempts in [1, 0, -3] {
            var attempts = 0
            #expect(throws: Flaky.self) {
                try RetryPolicy(maxAttempts: maxAttempts).run(isTransient: { _ in true }, sleep: { _ in Issue.record("slept") }) { _ -> Int in
                    attempts += 1
                    throw Flaky(transient: true)
                }
            }
            #expect(attempts == 1)
        }
    }

    @Test func delaysGrowOnAverage() {
        // Full jitter makes single delays random; their means grow with the cap.
        let policy = RetryPolicy(maxAttempts: 6, initialDelay: 0.1, maxDelay: 100, multiplier: 2)
        var sums = [Double](repeating: 0, count: 5)
        let runs = 400
        for _ in 0..<runs {
            var slept: [Double] = []
            _ = try? policy.run(isTransient: { _ in true }, sleep: { slept.append($0) }) { _ -> Int in throw Flaky(transient: true) }
            #expect(slept.count == 5)
            for (n, delay) in slept.enumerated() { sums[n] += delay }
        }
        let means = sums.map { $0 / Double(runs) }
        for n in 0..<5 {
            let cap = 0.1 * Double(1 << n)
            // The mean of uniform(0...cap) is cap/2; 400 samples keep it well within ±20%.
            #expect(abs(means[n] - cap / 2) < cap * 0.1, "mean \(n) = \(means[n]), cap \(cap)")
            if n > 0 { #expect(means[n] > means[n - 1] * 1.4) }
        }
    }

    @Test func delaysStayWithinBoundsAndJitter() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: 0.2, maxDelay: 3, multiplier: 2)
        var rng = SeededRandom(seed: 1234)
        for n in 0..<12 {
            let cap = min(3, 0.2 * pow2(n))
            #expect(policy.cap(forAttempt: n) == cap)
            var samples: [Double] = []
            for _ in 0..<500 {
                samples.append(policy.delay(forAttempt: n, using: &rng))
            }
            #expect(samples.allSatisfy { $0 >= 0 && $0 <= cap }, "attempt \(n)")
            // Jittered: spread over the range, not a constant.
            #expect(samples.min()! < cap * 0.1)
            #expect(samples.max()! > cap * 0.9)
            #expect(Set(samples).count > 400)
        }
        // Capped by maxDelay far out, without overflow.
        #expect(policy.cap(forAttempt: 10_000) == 3)
        #expect(policy.delay(forAttempt: 10_000, using: &rng) <= 3)
        #expect(policy.delay(forAttempt: Int.max, using: &rng) <= 3)
        // Zero initial delay: never waits.
        #expect(RetryPolicy(initialDelay: 0).delay(forAttempt: 3, using: &rng) == 0)
    }

    private func pow2(_ n: Int) -> Double { Double(1 << n) }
}
