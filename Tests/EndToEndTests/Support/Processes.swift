import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one finished command produced.
struct CommandResult: CustomStringConvertible {
    var command: String
    /// The exit status, or the signal number when `signaled`.
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String

    var succeeded: Bool { !signaled && status == 0 }

    var description: String {
        "$ \(command)\n\(signaled ? "killed by signal" : "exit") \(status)\n--- stdout:\n\(stdout.clipped())\n--- stderr:\n\(stderr.clipped())"
    }
}

extension String {
    /// At most `limit` characters, the head and the tail, for failure messages.
    func clipped(_ limit: Int = 4000) -> String {
        guard count > limit else { return self }
        return String(prefix(limit / 2)) + "\n…[\(count - limit) characters left out]…\n" + String(suffix(limit / 2))
    }
}

/// A real executable started as a separate process: clean environment (PATH and HOME plus what
/// the caller sets), stdin from /dev/null, stdout and stderr into files (never pipes, so a child
/// never blocks on a full pipe and parallel tests never share one).
final class ManagedProcess: @unchecked Sendable {
    let label: String
    let command: String
    let stdoutPath: String
    let stderrPath: String
    private let process: Process
    private let lock = NSLock()
    private var exited = false
    private var waiters: [() -> Void] = []

    init(
        label: String, executable: String, arguments: [String], environment: [String: String] = [:], directory: String,
        stdoutPath: String, stderrPath: String
    ) throws {
        self.label = label
        self.command = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).map(Self.quoted).joined(separator: " ")
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        let fm = FileManager.default
        guard fm.createFile(atPath: stdoutPath, contents: nil), fm.createFile(atPath: stderrPath, contents: nil),
            let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath),
            let input = FileHandle(forReadingAtPath: "/dev/null")
        else { throw HarnessError("cannot create the output files \(stdoutPath) and \(stderrPath)") }
        defer {
            try? input.close()
            try? out.close()
            try? err.close()
        }
        var env: [String: String] = [:]
        let parent = ProcessInfo.processInfo.environment
        for key in ["PATH", "HOME"] { env[key] = parent[key] }
        env.merge(environment) { _, new in new }

        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        process.terminationHandler = { [weak self] _ in self?.markExited() }
        try process.run()
    }

    private static func quoted(_ word: String) -> String {
        word.isEmpty || word.contains(where: { " '\"{}$*".contains($0) }) ? "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" : word
    }

    var pid: Int32 { process.processIdentifier }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !exited
    }

    private func markExited() {
        lock.lock()
        exited = true
        let pending = waiters
        waiters = []
        lock.unlock()
        for resume in pending { resume() }
    }

    /// Waits until the process exits (true) or `timeout` seconds pass (false).
    func waitForExit(timeout: Double) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = ResumeOnce(continuation)
            lock.lock()
            if exited {
                lock.unlock()
                once.resume(true)
                return
            }
            waiters.append { once.resume(true) }
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume(false) }
        }
    }

    /// Sends `signal` (SIGTERM, SIGINT, SIGKILL…) if it is still running.
    func send(_ signal: Int32) {
        guard isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    var stdout: String { String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

    /// The result once it has exited; while it runs, its output so far with status -1.
    var result: CommandResult {
        guard !isRunning else {
            return CommandResult(command: command + "   (still running)", status: -1, signaled: false, stdout: stdout, stderr: stderr)
        }
        return CommandResult(
            command: command, status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: stdout, stderr: stderr)
    }

    /// Stops it with `signal` and waits up to `grace` seconds; SIGKILLs it after that. Returns the
    /// result and whether it exited on its own after the signal.
    @discardableResult
    func stop(with signal: Int32 = SIGTERM, grace: Double = 5) async -> (result: CommandResult, exitedInTime: Bool) {
        if !isRunning { return (result, true) }
        send(signal)
        if await waitForExit(timeout: grace) { return (result, true) }
        send(SIGKILL)
        _ = await waitForExit(timeout: 10)
        return (result, false)
    }
}

/// Resumes a continuation once, whichever comes first.
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Bool, Never>?
    init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = continuation }
    func resume(_ value: Bool) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}

enum Command {
    /// Runs `executable arguments…` in `directory` and waits for it (killing it after `timeout` s).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String, timeout: Double = 120
    ) async throws -> CommandResult {
        let tag = UUID().uuidString.prefix(8)
        let out = directory + "/.cmd-\(tag).out"
        let err = directory + "/.cmd-\(tag).err"
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let process = try ManagedProcess(
            label: "command", executable: executable, arguments: arguments, environment: environment, directory: directory,
            stdoutPath: out, stderrPath: err)
        guard await process.waitForExit(timeout: timeout) else {
            process.send(SIGKILL)
            _ = await process.waitForExit(timeout: 10)
            throw HarnessError("\(process.command) did not finish within \(Int(timeout)) s:\n\(process.result)")
        }
        return process.result
    }
}
