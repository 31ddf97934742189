import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StationCore
import StationHTTP
import StationSync
import Synchronization

/// `--peer URL --token TOKEN [--every SECONDS] [--json] …`, shared by `station sync` and `hub sync`.
public struct SyncOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("The peer's URL, e.g. http://127.0.0.1:8080 (default: $\(Self.peerVariable)).", valueName: "url"))
    public var peer: String?

    @Option(help: ArgumentHelp("The bearer token for the peer (default: $\(Self.tokenVariable)).", valueName: "token"))
    public var token: String?

    @Option(
        help: ArgumentHelp("Keep syncing every SECONDS; a failed attempt is logged and retried next time. Stop with Ctrl-C.", valueName: "seconds"))
    public var every: Double?

    @Flag(help: "Print a JSON summary per sync instead of a sentence.")
    public var json = false

    @Flag(help: "Start over with the peer: send and receive everything again (merging makes this safe).")
    public var full = false

    @Flag(
        help: """
            Make this database the one writing as this node at the peer, though another database does \
            (a reinstalled or replaced machine; the peer then refuses the other one). Nothing is lost \
            either way: the other database's writes that reached the peer stay.
            """)
    public var takeOver = false

    @Flag(
        help: """
            Take schema additions (new collections and fields) from this peer though it is not a hub \
            this node syncs with by its token: a peer the operator trusts with the schema. Without it, \
            what a LAN peer declares beyond this node's schema waits until the hub declares it too.
            """)
    public var trustSchema = false

    @Option(help: ArgumentHelp("Changes per request.", valueName: "n"))
    public var batchSize = 500

    @Option(
        help: ArgumentHelp(
            "The most changes one sync pulls from a peer that is not this node's hub; the next sync goes on from there.", valueName: "n"))
    public var maxPulled = 200_000

    @Option(help: ArgumentHelp("A CA certificate file to verify an https peer with.", valueName: "file"))
    public var caFile: String?

    @Option(help: ArgumentHelp("Seconds to wait for a connection.", valueName: "seconds"))
    public var connectTimeout = 5.0

    @Option(help: ArgumentHelp("Seconds one request may take.", valueName: "seconds"))
    public var timeout = 60.0

    public init() {}

    public func validate() throws {
        if let every, every <= 0 { throw ValidationError("--every must be a positive number of seconds") }
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size must be from 1 to 1000") }
        guard maxPulled >= 1 else { throw ValidationError("--max-pulled must be at least 1") }
        guard connectTimeout > 0, timeout > 0 else { throw ValidationError("timeouts must be positive") }
    }

    /// The variable naming the peer when `--peer` is absent: `$HUB_PEER` for `hub`, `$STATION_PEER`
    /// for `station`.
    public static var peerVariable: String { Terminal.program == "hub" ? "HUB_PEER" : "STATION_PEER" }
    /// The variable holding the token when `--token` is absent: `$HUB_TOKEN` or `$STATION_TOKEN`.
    public static var tokenVariable: String { Terminal.program == "hub" ? "HUB_TOKEN" : "STATION_TOKEN" }

    /// The peer URL, from --peer or ``peerVariable``.
    public var peerURL: String {
        get throws {
            if let peer, !peer.isEmpty { return peer }
            if let env = ProcessInfo.processInfo.environment[Self.peerVariable], !env.isEmpty { return env }
            throw CommandFailure("no peer given: pass --peer URL or set \(Self.peerVariable)")
        }
    }

    /// The token, from --token or ``tokenVariable`` (nil: none).
    public var bearerToken: String? {
        if let token, !token.isEmpty { return token }
        if let env = ProcessInfo.processInfo.environment[Self.tokenVariable], !env.isEmpty { return env }
        return nil
    }
}

/// Runs `sync` once or periodically for a node's storage, with a progress bar on a terminal and
/// a summary at the end.
public struct SyncRunner: Sendable {
    public let storage: any SyncStorage
    public let options: SyncOptions
    public let logger: Logger

    public init(storage: any SyncStorage, options: SyncOptions, logger: Logger) {
        self.storage = storage
        self.options = options
        self.logger = logger
    }

    /// The transport to the peer the options name.
    func transport() throws -> HTTPSyncTransport {
        var client = HTTPClientOptions()
        client.caFile = options.caFile
        client.connectTimeout = options.connectTimeout
        client.requestTimeout = options.timeout
        return try HTTPSyncTransport(
            peer: try options.peerURL, token: options.bearerToken, caller: storage.writer.rawValue, options: client, logger: logger)
    }

    public func run() async throws {
        var transport = try transport()
        guard let every = options.every else {
            report(try await once(transport, full: options.full, takeOver: options.takeOver))
            return
        }
        transport.retryLogLevel = .debug
        logger.info("syncing every \(every) s with \(transport.baseURL); Ctrl-C stops")
        // SIGINT or SIGTERM shuts the group down gracefully: a round in progress ends (its
        // summary printed), the wait for the next one is cut short.
        // A round in progress stops after the page it is merging (each page is kept with its
        // cursor); past 30 s of shutting down (a push still going, a transfer stuck), or at
        // SIGQUIT, the group is cancelled.
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: PeriodicSync(runner: self, transport: transport, every: every))],
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [.sigquit], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(30)
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
        logger.info("stopped")
    }

    /// `station serve --hub URL`: the same rounds as `sync --every`, run beside the server in its
    /// service group, and also soon after this database changes (a local write, a LAN peer's
    /// push): `changes` reads the feed's end, checked every second; a round starts once it has
    /// stood still for `settle` seconds (a burst of writes is one round), or `settle` × 5 after
    /// the first change at the latest.
    public func service(every: Double, settle: Double = 0.5, changes: @escaping @Sendable () async throws -> Int64) throws -> some Service {
        var transport = try transport()
        transport.retryLogLevel = .debug
        return PeriodicSync(runner: self, transport: transport, every: every, settle: settle, changes: changes, keepsServing: true)
    }

    /// `sync --every`: a round, then a wait, until the service group shuts down.
    struct PeriodicSync: Service {
        /// A time of day as a log line shows it (UTC, like the log's timestamps).
        static func clockTime(_ date: Date) -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "HH:mm:ss"
            return f.string(from: date) + "Z"
        }

        let runner: SyncRunner
        let transport: HTTPSyncTransport
        let every: Double
        /// With `changes`: how long the feed's end stands still before a round starts.
        var settle = 0.5
        /// The end of this database's change feed: a round also starts soon after it moves.
        var changes: (@Sendable () async throws -> Int64)?
        /// Beside a server (`station serve --hub`): a refusal that retrying cannot fix (a revoked
        /// or mistyped token) stops the syncing, said loudly, and the station goes on serving its
        /// own programs and LAN peers; `sync --every` ends instead.
        var keepsServing = false

        /// Waits `every` seconds, or with ``changes`` until the feed moved past `synced` and
        /// settled; returns early when the service group shuts down.
        func wait(after synced: Int64?) async {
            guard let changes, let synced else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(every * 1000))) }
                return
            }
            let deadline = ContinuousClock.now + .milliseconds(Int64(every * 1000))
            var seen = synced
            var movedAt: ContinuousClock.Instant?
            var firstMove: ContinuousClock.Instant?
            let tick = min(1.0, settle)
            while !Task.isShuttingDownGracefully, !Task.isCancelled, ContinuousClock.now < deadline {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(tick * 1000))) }
                guard let end = try? await changes() else { continue }
                let now = ContinuousClock.now
                if end != seen {
                    seen = end
                    movedAt = now
                    if firstMove == nil { firstMove = now }
                }
                if let movedAt, let firstMove,
                    now - movedAt >= .milliseconds(Int64(settle * 1000)) || now - firstMove >= .milliseconds(Int64(settle * 5000))
                {
                    return
                }
            }
        }

        func run() async throws {
            var full = runner.options.full
            var takeOver = runner.options.takeOver
            // Quiet: a line when a round moved something or what stands changed (the first round's
            // always), one when syncing starts failing (and every 10 minutes while it does), one
            // when it works again.
            var lastStanding: [Int]?
            var failing: (since: Date, attempts: Int, lastLine: Date)?
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                // Where the feed ends before the round: what the round merges moves it too, and
                // only a change after that calls for another round.
                var synced: Int64?
                do {
                    let summary = try await runner.once(transport, full: full, takeOver: takeOver)
                    synced = try? await changes?()
                    if let f = failing {
                        runner.logger.notice(
                            "sync with \(transport.baseURL) works again after \(f.attempts) failed attempt\(f.attempts == 1 ? "" : "s") since \(Self.clockTime(f.since))"
                        )
                        failing = nil
                    }
                    if summary.moved || summary.standing != lastStanding { runner.report(summary) }
                    lastStanding = summary.standing
                    full = false
                    // Taking over is once: a later round that found another database live again
                    // (someone took it back) is refused like any other, and the loop stops.
                    takeOver = false
                } catch let error as SyncError where !error.isTransient && error.code != .internal {
                    // Retrying cannot fix a refused token, a forbidden collection or a schema mismatch.
                    guard keepsServing else { throw CommandFailure("sync with \(transport.baseURL) stopped: \(error.message)") }
                    runner.logger.error(
                        "sync with \(transport.baseURL) stopped: \(error.message); this station goes on serving its programs and LAN peers. Fix it (the token, the schema) and restart to sync again"
                    )
                    try? await gracefulShutdown()
                    return
                } catch {
                    let now = Date()
                    if var f = failing {
                        f.attempts += 1
                        if now.timeIntervalSince(f.lastLine) >= 600 {
                            runner.logger.warning(
                                "sync with \(transport.baseURL) still failing since \(Self.clockTime(f.since)) (\(f.attempts) attempts); trying again \(every) s after each",
                                metadata: ["error": "\(error)"])
                            f.lastLine = now
                        }
                        failing = f
                    } else {
                        runner.logger.warning(
                            "sync with \(transport.baseURL) failed; trying again \(every) s after each attempt (one line when it works again)",
                            metadata: ["error": "\(error)"])
                        failing = (now, 1, now)
                    }
                }
                guard !Task.isShuttingDownGracefully else { break }
                await wait(after: synced)
            }
        }
    }

    /// Prints a sync's summary: its JSON or its sentence.
    func report(_ summary: SyncSummary) {
        if options.json {
            print(summary.json.canonicalText)
        } else {
            print(Self.sentence(summary))
        }
        fflush(nil)
    }

    func once(_ transport: HTTPSyncTransport, full: Bool, takeOver: Bool) async throws -> SyncSummary {
        var bar: ProgressBar?
        var engine = SyncEngine(storage: storage, transport: transport, batchSize: options.batchSize, logger: logger) { p in
            guard Terminal.stderrIsTerminal, !options.json else { return }
            if p.phase == .push, let total = p.total, total > 2_000 {
                if bar == nil { bar = ProgressBar(total: total, label: "pushing") }
                bar?.update(p.done)
            } else if p.phase == .pull, p.done >= 2_000 {
                bar?.finish()
                bar = nil
                FileHandle.standardError.write(Data("\rpulling: \(p.done) changes".utf8))
            }
        }
        engine.takeOver = takeOver
        engine.full = full
        engine.maxPulledFromPeer = options.maxPulled
        engine.trustSchema = options.trustSchema
        // `sync --every` shutting down (SIGTERM, SIGINT): the pull ends after the page it merges.
        engine.stopRequested = { Task.isShuttingDownGracefully }
        var summary: SyncSummary
        let before = transport.wireBytes
        do {
            summary = try await engine.run()
            summary.bytesSent = transport.wireBytes.sent - before.sent
            summary.bytesReceived = transport.wireBytes.received - before.received
        } catch {
            bar?.finish()
            throw error
        }
        bar?.finish()
        if Terminal.stderrIsTerminal, summary.pulled >= 2_000 { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        return summary
    }

    /// The human summary of a sync.
    public static func sentence(_ s: SyncSummary) -> String {
        /// The first five records named, and an ellipsis when there are more.
        func firstFive(_ records: [String]) -> String { records.prefix(5).joined(separator: ", ") + (records.count > 5 ? ", …" : "") }
        var text = "synced with \(s.peer) in \(String(format: "%.2f", s.seconds)) s: pushed \(s.pushed), pulled \(s.pulled)"
        if s.pulled > 0 { text += " (\(s.created) new, \(s.applied) newer, \(s.merged) merged, \(s.unchanged) already known)" }
        text += "; \(s.recordsWithConflicts) record\(s.recordsWithConflicts == 1 ? " holds" : "s hold") conflicts"
        if let offset = s.clockOffset, abs(offset) > SyncSummary.clockWarning {
            text +=
                "; warning: this node's clock is \(ClockOffset.words(offset)) \(s.peer)'s: "
                + "writes here are stamped with it (the latest write wins a field), and the hub refuses writes stamped more than a day "
                + "ahead of its clock; set this machine's clock right"
        }
        if s.collisions > 0 {
            let which = firstFive(s.collisionRecords)
            text +=
                "; \(s.collisions) record\(s.collisions == 1 ? "" : "s") (\(which)) \(s.collisions == 1 ? "holds" : "hold") a write that \(s.peer) holds with other content "
                + "under the same name (dot_collision: a database restored together with its watermark, or a forged state); neither side "
                + "took the other's version, every other record went on. Both versions are kept: compare them (station get here, the "
                + "peer's copy there) and write the values to keep"
        }
        if s.overLimit > 0 {
            let which = firstFive(s.overLimitRecords)
            text +=
                "; \(s.overLimit) record\(s.overLimit == 1 ? "" : "s") (\(which)) could not be merged with \(s.peer)'s version: "
                + "together they would hold more than a record may (\(RecordState.maxClockEntries) writers or values in a field, "
                + "or a value nested past \(Limits.valueDepth) levels; over_limit). "
                + "Neither side took the other's, every other record went on; the hub's log names the record and the limit"
        }
        if s.ahead > 0 {
            let which = firstFive(s.aheadRecords)
            text +=
                "; \(s.ahead) record\(s.ahead == 1 ? "" : "s") (\(which)) not taken: \(s.ahead == 1 ? "it holds" : "they hold") a write of another node stamped more than "
                + "\(HybridLogicalClock.defaultMaxForwardDrift / 3_600_000) h ahead of the receiver's clock (ahead: that node's clock is wrong, and its write would win "
                + "every race); every other record went on. Pushed ones are sent again at every sync; the log names the writer and the time"
        }
        if s.refused > 0 {
            let which = firstFive(s.refusedRecords)
            text +=
                "; \(s.refused) record\(s.refused == 1 ? "" : "s") (\(which)) not taken from \(s.peer): \(s.refused == 1 ? "its version rewrites" : "their versions rewrite") "
                + "or drop what another node wrote here, or hold a made-up history (a forged or broken state; the log says what); every other record went on"
        }
        if s.refusedByPeer > 0 {
            let which = firstFive(s.refusedByPeerRecords)
            text +=
                "; \(s.refusedByPeer) record\(s.refusedByPeer == 1 ? "" : "s") (\(which)) refused by \(s.peer): this node's version "
                + "rewrites or drops what another node wrote, as \(s.peer) holds it (taken from a LAN peer or a change file that forged it, "
                + "when this node had no copy to check it against; the log says which peer or file). Every other record went on; "
                + "\(s.refusedByPeer == 1 ? "it waits" : "they wait") here and \(s.refusedByPeer == 1 ? "is" : "are") sent again at every sync"
        }
        if s.heldBack > 0 {
            let which = firstFive(s.heldBackRecords)
            text +=
                "; \(s.heldBack) record\(s.heldBack == 1 ? "" : "s") (\(which)) not sent: written while this machine's clock was more than "
                + "\(HybridLogicalClock.defaultMaxForwardDrift / 3_600_000) h ahead (stamped with that time, they would win every race), so \(s.peer) refuses them "
                + "until its clock reaches their time; they are sent again at every sync, and everything else went on"
        }
        if s.waiting > 0 {
            let which = firstFive(s.waitingRecords)
            text +=
                "; \(s.waiting) record\(s.waiting == 1 ? " waits" : "s wait") (\(which)): \(s.waiting == 1 ? "it holds" : "they hold") writes of other nodes "
                + "\(s.peer) has not seen (from a LAN sync, or lost by \(s.peer) restored from a backup), and this token may not relay them. "
                + "They go once those nodes sync with \(s.peer) themselves; if one of them never will (its database is lost, or it is "
                + "\(s.peer) itself), sync its new database with this station over the LAN first, or ask the operator for a relay token "
                + "for this station"
        }
        if s.notSent > 0 {
            text +=
                "; \(s.notSent) local change\(s.notSent == 1 ? "" : "s") not sent (collections the peer lacks or this token may not write; "
                + "\(s.notSent == 1 ? "it goes" : "they go") at the first sync that can send \(s.notSent == 1 ? "it" : "them"))"
        }
        if s.schemaWaiting > 0 {
            let which = firstFive(s.schemaWaitingRecords)
            text +=
                "; \(s.schemaWaiting) record\(s.schemaWaiting == 1 ? "" : "s") (\(which)) not taken: \(s.schemaWaiting == 1 ? "it needs" : "they need") a collection or "
                + "field policy \(s.peer) declares and this node's schema does not; they wait until the hub declares it (or sync with --trust-schema "
                + "if \(s.peer) is trusted with the schema)"
        }
        if !s.schemaAdditions.isEmpty { text += "; schema additions from the peer: \(s.schemaAdditions.joined(separator: ", "))" }
        if s.pullCut {
            text +=
                "; stopped pulling after \(s.pulled) changes, the most one sync takes from a peer that is not this node's hub "
                + "(--max-pulled); sync again to go on from there"
        }
        if s.stopped { text += "; stopped pulling to shut down; the next sync goes on from there" }
        if s.startedOver { text += "; first sync with this peer database" }
        return text
    }
}

/// SIGINT/SIGTERM as a flag, for loops that stop cleanly between steps.
///
/// (`@unchecked`: `sources` is written only in `init` and kept only so that the signal sources
/// live as long as this object; the flag is atomic.)
public final class StopSignal: @unchecked Sendable {
    private let flag = Atomic(false)
    private var sources: [DispatchSourceSignal] = []

    public init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.set() }
            source.resume()
            sources.append(source)
        }
    }

    private func set() { flag.store(true, ordering: .releasing) }

    public var requested: Bool { flag.load(ordering: .acquiring) }

    /// Sleeps up to `seconds`, waking early when a stop is requested.
    public func sleep(_ seconds: Double) async {
        let end = Date().addingTimeInterval(seconds)
        while !requested, Date() < end { try? await Task.sleep(for: .milliseconds(Int(min(0.1, max(0, end.timeIntervalSinceNow)) * 1000) + 1)) }
    }
}
