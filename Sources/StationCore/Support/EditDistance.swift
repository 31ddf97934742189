/// Edit distances between names, for "did you mean" in refusals.
public enum EditDistance {
    /// The Levenshtein distance between `a` and `b` over Unicode scalars (a Chinese character
    /// is one edit, as a Latin letter is), or nil once it passes `limit`.
    public static func distance(_ a: String, _ b: String, limit: Int) -> Int? {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        guard abs(x.count - y.count) <= limit else { return nil }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            current[0] = i
            var rowMinimum = current[0]
            for j in stride(from: 1, through: y.count, by: 1) {
                let substitution = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return nil }
            swap(&previous, &current)
        }
        let d = previous[y.count]
        return d <= limit ? d : nil
    }

    /// The candidate nearest to `name` within `limit` edits (a difference of case alone counts as
    /// one), the first in byte order among equals; nil when none is that near.
    public static func closest(to name: String, among candidates: some Sequence<String>, limit: Int = 2) -> String? {
        var best: (name: String, distance: Int)?
        let folded = name.lowercased()
        for candidate in candidates {
            var d = distance(name, candidate, limit: limit)
            if d == nil || d! > 1, candidate.lowercased().hasSameBytes(as: folded) { d = 1 }
            guard let d else { continue }
            if best == nil || d < best!.distance || (d == best!.distance && candidate.utf8.lexicographicallyPrecedes(best!.name.utf8)) {
                best = (candidate, d)
            }
        }
        return best?.name
    }
}
