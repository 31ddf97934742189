import Foundation

/// Times as storage keeps them for people to read (checkpoints, station activity, node writers,
/// tokens, sessions): `YYYY-MM-DD HH:MM:SS`, UTC, what SQLite's `datetime('now')` writes. They
/// sort as text; every backend writes them alike.
public enum StoredTime {
    /// The time now, or `seconds` from now.
    public static func now(plus seconds: Int = 0) -> String {
        var time = time_t(Date().timeIntervalSince1970) + time_t(seconds)
        var t = tm()
        gmtime_r(&time, &t)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday), Int(t.tm_hour),
            Int(t.tm_min), Int(t.tm_sec))
    }
}
