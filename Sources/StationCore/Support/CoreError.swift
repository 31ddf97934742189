/// An error from the core: what went wrong, in words, with a code that callers can switch on.
///
/// The message names the record, field or value concerned, so it can be shown to a user as is.
public struct CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Kinds of core errors.
    public enum Code: String, Sendable, Equatable {
        case invalidNodeName
        case invalidCollectionName
        case invalidFieldName
        case invalidRecordID
        case invalidSchema
        case unknownCollection
        case wrongType
        case invalidVersion
        case recordDeleted
        case recordNotFound
        case counterOverflow
        case conflictNotFound
        case indexOutOfRange
        /// Two different writes under one dot (see ``RecordState/collidingDot(with:)``).
        case dotCollision
        /// A write would make a record's clock name more writers than a state may hold.
        case tooManyWriters
        /// Two versions of a record, each valid, join into one that is not: one of them dropped
        /// what the other holds (see ``RecordState/checkJoinedCounters(in:id:)``).
        case inconsistentJoin
        /// A value past a limit of ``Limits`` (nested too deeply): refused where it would enter.
        case beyondLimit
        /// A query (`station list --where …`) that cannot be read.
        case invalidQuery
        /// A local write to a field a typed collection does not declare.
        case unknownField
        /// A record created without a required field, or a required field unset.
        case requiredField
        /// A value past a field's declared `min` or `max`.
        case outOfBounds
        /// A string an enum field does not list.
        case valueNotAllowed
        /// A person's name (`--by`, an author) that is not one (``Person/checked(_:)``).
        case invalidPerson
    }

    /// The kind of error.
    public var code: Code
    /// A one-line explanation naming what was wrong.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
