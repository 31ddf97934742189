import StationCore

enum Fixtures {
    static let cases = CollectionSchema(
        name: "cases", defaultPolicy: .lww, deleteConflict: .updateWins,
        fields: ["status": .manual, "notes": .lww, "phone": .lww, "visits": .counter])
    static let stock = CollectionSchema(
        name: "stock", defaultPolicy: .lww, deleteConflict: .deleteWins,
        fields: ["quantity": .counter, "name": .lww, "price": .manual])

    /// An HLC time at wall millisecond `ms`.
    static func t(_ ms: UInt64) -> HLCTimestamp { HLCTimestamp(wall: 1_700_000_000_000 + ms, logical: 0) }
}
