import ArgumentParser
import Foundation

/// A failure to report to the user: one line on stderr, then a non-zero exit.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32 = 1
    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    public var description: String { message }
}

/// Runs a command body, turning any error into one clear line on stderr and exit status 1
/// (argument errors keep ArgumentParser's usage message and status 64).
public func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CommandFailure {
        Terminal.printError(error.message)
        throw ExitCode(error.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch {
        Terminal.printError("\(error)")
        throw ExitCode(1)
    }
}

/// The async form of ``reportingErrors(_:)``.
public func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CommandFailure {
        Terminal.printError(error.message)
        throw ExitCode(error.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch {
        Terminal.printError("\(error)")
        throw ExitCode(1)
    }
}
