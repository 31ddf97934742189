import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import StationSync
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How many connections each client address holds, so that one host (a misbehaving client, an
/// attacker opening connections by the thousand) cannot take every connection a node accepts.
final class AddressConnections: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection from `address`; false (not counted) when that address holds `limit` already.
    func open(_ address: String) -> Bool {
        counts.withLock { counts in
            let n = counts[address, default: 0]
            guard n < limit else { return false }
            counts[address] = n + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            let n = counts[address, default: 0] - 1
            counts[address] = n > 0 ? n : nil
        }
    }

    /// Connections held now by `address`.
    func count(_ address: String) -> Int { counts.withLock { $0[address, default: 0] } }
}

/// Closes a connection at once when its address holds ``AddressConnections/limit`` already;
/// otherwise counts it while it lasts. Passes everything else through.
final class AddressLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    let connections: AddressConnections
    let logger: Logger
    private var counted: String?

    init(_ connections: AddressConnections, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let address = context.channel.remoteAddress?.ipAddress else { return }
        if connections.open(address) {
            counted = address
        } else {
            logger.debug("connection refused: its address holds the most connections one address may", metadata: ["address": "\(address)"])
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let counted { connections.close(counted) }
        counted = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}

/// The node's connections and which of them are idle (no request read and not yet answered), so
/// that idle ones give way under pressure: while at least `pressure` connections are open, one idle
/// for `idleUnderPressure` is closed (swept every `sweepEvery`) and its place goes to the next
/// client waiting to connect. Without this, connections opened by the thousand from many
/// addresses and left idle (or stalled in their headers) hold every place the node accepts for the
/// whole idle timeout, renewed as fast as they are closed, and no station can connect. A client
/// whose idle keep-alive connection is closed connects again; a request in progress (its head read,
/// its answer not yet written) is never closed for this (a body too slow is the body deadline's).
final class IdleConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        var inFlight = 0
        var idleSince: NIODeadline
    }
    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var sweeping = false
    }
    private let state = Mutex(State())
    let pressure: Int
    let idleUnderPressure: TimeAmount
    let sweepEvery: TimeAmount
    let logger: Logger

    init(pressure: Int, idleUnderPressure: TimeAmount = .seconds(2), sweepEvery: TimeAmount = .milliseconds(500), logger: Logger) {
        self.pressure = pressure
        self.idleUnderPressure = idleUnderPressure
        self.sweepEvery = sweepEvery
        self.logger = logger
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.entries.count } }

    func opened(_ channel: any Channel) {
        let startSweeping = state.withLock { state in
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: .now())
            defer { state.sweeping = true }
            return !state.sweeping
        }
        if startSweeping {
            // One repeated task for the server's lifetime, on the first connection's event loop; it
            // ends itself once the server (and so this object) is gone.
            channel.eventLoop.scheduleRepeatedTask(initialDelay: sweepEvery, delay: sweepEvery) { [weak self] task in
                guard let self else { return task.cancel() }
                self.sweep()
            }
        }
    }

    func closed(_ channel: any Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func requestStarted(_ channel: any Channel) {
        state.withLock { state in state.entries[ObjectIdentifier(channel)]?.inFlight += 1 }
    }

    func requestAnswered(_ channel: any Channel) {
        state.withLock { state in
            guard var entry = state.entries[ObjectIdentifier(channel)] else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            if entry.inFlight == 0 { entry.idleSince = .now() }
            state.entries[ObjectIdentifier(channel)] = entry
        }
    }

    /// Closes the connections idle for `idleUnderPressure` while `pressure` or more are open.
    func sweep() {
        let idle: [any Channel] = state.withLock { state in
            guard state.entries.count >= pressure else { return [] }
            let before = NIODeadline.now() - idleUnderPressure
            return state.entries.values.filter { $0.inFlight == 0 && $0.idleSince < before }.map(\.channel)
        }
        guard !idle.isEmpty else { return }
        logger.debug("closing idle connections: the node holds many", metadata: ["closing": "\(idle.count)", "pressure": "\(pressure)"])
        for channel in idle { channel.close(promise: nil) }
    }
}

/// Tells ``IdleConnections`` when its connection opens, closes, starts a request (its head read)
/// and answers it (its end written).
final class IdleConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let connections: IdleConnections

    init(_ connections: IdleConnections) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) { connections.opened(context.channel) }

    func handlerRemoved(context: ChannelHandlerContext) { connections.closed(context.channel) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { connections.requestStarted(context.channel) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connections.requestAnswered(context.channel) }
        context.write(data, promise: promise)
    }
}

/// Request bodies held in memory at once, in bytes, across every request: a push reserves its
/// body's size before reading it and gives it back when done, so stalled or slow uploads cannot
/// take the node's memory (the next is answered 503, which clients retry).
///
/// One caller (a token's station) holds at most `perCaller` of it, so one token holder dripping
/// bodies in over a few connections cannot take the whole budget from the others (review round 8, F3).
final class BodyBudget: Sendable {
    private struct Usage {
        var total = 0
        var byCaller: [String: Int] = [:]
        /// Bodies each caller is sending now.
        var bodiesByCaller: [String: Int] = [:]
    }
    private let used = Mutex(Usage())
    let limit: Int
    let perCaller: Int
    /// Bodies one caller may be sending at once, whatever their size: without it, one token
    /// trickling small bodies in (a byte a second, within every byte budget and never idle) over
    /// many connections holds every connection the node accepts, since a request in progress is
    /// never closed for being idle (review round 9).
    let bodiesPerCaller: Int

    init(limit: Int, perCaller: Int, bodiesPerCaller: Int = 8) {
        self.limit = limit
        self.perCaller = perCaller
        self.bodiesPerCaller = bodiesPerCaller
    }

    /// Reserves `bytes` for `caller`; false when that would pass the limit or the caller's share.
    func reserve(_ bytes: Int, for caller: String) -> Bool {
        used.withLock { used in
            let mine = used.byCaller[caller, default: 0]
            guard used.total + bytes <= limit, mine + bytes <= perCaller else { return false }
            used.total += bytes
            used.byCaller[caller] = mine + bytes
            return true
        }
    }

    func release(_ bytes: Int, for caller: String) {
        used.withLock { used in
            used.total -= bytes
            let mine = used.byCaller[caller, default: 0] - bytes
            used.byCaller[caller] = mine > 0 ? mine : nil
        }
    }

    /// Counts a body `caller` starts sending; false when it is sending ``bodiesPerCaller`` already.
    func startBody(for caller: String) -> Bool {
        used.withLock { used in
            let n = used.bodiesByCaller[caller, default: 0]
            guard n < bodiesPerCaller else { return false }
            used.bodiesByCaller[caller] = n + 1
            return true
        }
    }

    func endBody(for caller: String) {
        used.withLock { used in
            let n = used.bodiesByCaller[caller, default: 0] - 1
            used.bodiesByCaller[caller] = n > 0 ? n : nil
        }
    }

    /// Bytes reserved now.
    var reserved: Int { used.withLock { $0.total } }

    /// The bytes one request holds against a budget until released: its declared length (or the
    /// most a body may be) at first, its decompressed size once known.
    final class Reservation: Sendable {
        let budget: BodyBudget
        let caller: String
        private let bytes: Mutex<Int>

        /// Reserves for `request`'s body from `caller`'s share; 413 past `max`, 503 when the
        /// budget cannot hold it now.
        init(_ budget: BodyBudget, caller: String, request: Request, max: Int) throws {
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            if let declared, declared > max {
                throw SyncError(.tooLarge, "request body is larger than \(max) bytes; push smaller batches")
            }
            let bytes = declared ?? max
            guard budget.startBody(for: caller) else {
                throw SyncError(
                    .unavailable,
                    "this caller is sending as many request bodies as one caller may at once (\(budget.bodiesPerCaller)); try again shortly")
            }
            guard budget.reserve(bytes, for: caller) else {
                budget.endBody(for: caller)
                throw SyncError(
                    .unavailable, "this node is receiving as many request bodies (from this caller, or in all) as it holds at once; try again shortly"
                )
            }
            self.budget = budget
            self.caller = caller
            self.bytes = Mutex(bytes)
        }

        /// Holds `size` bytes from now on (more than reserved: 503 when the budget cannot).
        func grow(to size: Int) throws {
            try bytes.withLock { held in
                guard size > held else { return }
                guard budget.reserve(size - held, for: caller) else {
                    throw SyncError(.unavailable, "this node is receiving as many request bodies as it holds at once; try again shortly")
                }
                held = size
            }
        }

        /// Gives the bytes and the body's place back; once only (later calls do nothing).
        func release() {
            bytes.withLock { held in
                guard held >= 0 else { return }
                budget.release(held, for: caller)
                budget.endBody(for: caller)
                held = -1
            }
        }
    }
}

extension SyncServer {
    /// Reads a request body of at most `max` bytes that must arrive whole within `seconds`
    /// (checked as each part arrives; a connection sending nothing is closed by the idle timeout):
    /// a body dripping in byte by byte is answered 408. (Its bytes are reserved beforehand, see
    /// ``BodyBudget/Reservation``.)
    static func collectBody(_ request: Request, max: Int, within seconds: Double) async throws -> ByteBuffer {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        var collected = ByteBuffer()
        do {
            for try await part in request.body {
                guard collected.readableBytes + part.readableBytes <= max else {
                    throw SyncError(.tooLarge, "request body is larger than \(max) bytes; push smaller batches")
                }
                collected.writeImmutableBuffer(part)
                if ContinuousClock.now > deadline {
                    throw SyncError(.requestTimeout, "the request body did not arrive within \(Int(seconds)) s; nothing was taken")
                }
            }
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.badRequest, "could not read the request body: \(error)")
        }
        return collected
    }

    /// Raises this process's soft limit on open files to its hard limit (a node holds a file per
    /// connection); returns the soft limit now.
    public static func raiseOpenFileLimit() -> Int {
        #if canImport(Glibc)
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
            if limit.rlim_cur < limit.rlim_max {
                var raised = limit
                raised.rlim_cur = limit.rlim_max
                if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
            }
            return Int(clamping: limit.rlim_cur)
        #else
            return 1024
        #endif
    }
}
