import StationSync
import StationCore

/// An error from the station store: what went wrong and with which database or record.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Kinds of store errors.
    public enum Code: String, Sendable, Equatable {
        case databaseExists
        case databaseMissing
        case notAStationDatabase
        /// The database was last opened by a newer StationSync (it holds migrations this build
        /// does not know): upgrade.
        case newerDatabase
        /// The database file has another name (a hard link): two names would write as one
        /// database, each with its own write-ahead log.
        case hardLinked
        case recordNotFound
        case invalidInput
        case sqlite
        /// The database file was removed or replaced by another file while this node had it
        /// open: a write would go into a file nobody will open again. Nothing is written.
        case databaseGone
    }

    public var code: Code
    /// One line naming what was wrong.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
