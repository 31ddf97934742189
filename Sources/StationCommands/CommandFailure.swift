import ArgumentParser
import Foundation
import StationCore
import StationStore
import StationSync

/// A failure to report to the user: one line on stderr, then a non-zero exit.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32 = 1
    /// A stable code for programs (`--json`), as the sync protocol's error codes are.
    public var code: String
    public init(_ message: String, exitCode: Int32 = 1, code: String = "failed") {
        self.message = message
        self.exitCode = exitCode
        self.code = code
    }
    public var description: String { message }
}

/// How a failure is reported: the line on stderr and, when the command was asked for `--json`,
/// `{"error": CODE, "message": TEXT}` on stdout, so a program reading the JSON reads the failure
/// too. CODE is the error's own code (a sync error's protocol code, a core or store error's).
enum FailureReport {
    static var jsonRequested: Bool { CommandLine.arguments.dropFirst().contains("--json") }

    static func report(_ message: String, code: String) {
        Terminal.printError(message)
        guard jsonRequested else { return }
        let line = JSONValue.object(["error": .string(code), "message": .string(message)]).canonicalText + "\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    static func code(of error: any Error) -> String {
        switch error {
        case let error as CommandFailure: error.code
        case let error as SyncError: error.code.rawValue
        case let error as CoreError: error.code.rawValue
        case let error as StoreError: error.code.rawValue
        case let error as ForgetRefusal: error.code.rawValue
        case is JSONParseError: "invalidJSON"
        default: "failed"
        }
    }
}

/// Runs a command body, turning any error into one clear line on stderr and exit status 1
/// (argument errors keep ArgumentParser's usage message and status 64).
public func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CommandFailure {
        FailureReport.report(error.message, code: error.code)
        throw ExitCode(error.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch {
        FailureReport.report("\(error)", code: FailureReport.code(of: error))
        throw ExitCode(1)
    }
}

/// The async form of ``reportingErrors(_:)``.
public func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CommandFailure {
        FailureReport.report(error.message, code: error.code)
        throw ExitCode(error.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch {
        FailureReport.report("\(error)", code: FailureReport.code(of: error))
        throw ExitCode(1)
    }
}
