import GRDB
import StationCore

/// A node's name is stored as its text (`peer`, `source`, `writer` columns). Read back as it was
/// stored: every name this store writes was checked before.
extension NodeID: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { rawValue.databaseValue }

    public static func fromDatabaseValue(_ value: DatabaseValue) -> NodeID? {
        String.fromDatabaseValue(value).map(NodeID.init(unchecked:))
    }
}
