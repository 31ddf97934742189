import StationCore

/// A deterministic generator (SplitMix64) so every property run is reproducible from its seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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
