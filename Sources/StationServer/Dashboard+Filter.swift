import Foundation
import StationCore

/// Which open conflicts the dashboard lists: by collection, by a station that wrote one of the
/// competing values, by policy and by age, a page of ``pageSize`` at a time. Read from the page's
/// query (`/ui?collection=…&station=…&policy=…&age=…&page=…`), and sent with "accept every
/// automatic decision in this filter", which acts on every conflict the filter holds (not only
/// the page shown).
struct ConflictFilter: Sendable, Equatable {
    static let pageSize = 50

    /// How old a conflict is: since its earliest competing write.
    enum Age: String, Sendable, CaseIterable {
        case day = "1d"
        case week = "7d"
        case older = "older"

        var label: String {
            switch self {
            case .day: return "in the last day"
            case .week: return "in the last 7 days"
            case .older: return "older than 7 days"
            }
        }
    }

    var collection: String?
    var station: String?
    var policy: ConflictPolicy?
    var age: Age?
    /// 1-based.
    var page = 1
    /// The stations table's order: by name, or by how far behind (`lag`).
    var stationsByLag = false

    init() {}

    /// The filter a form or query gives; unknown or empty values are no filter.
    init(_ fields: [String: String]) {
        func given(_ key: String) -> String? { fields[key].flatMap { $0.isEmpty ? nil : String($0.prefix(128)) } }
        collection = given("collection")
        station = given("station")
        policy = given("policy").flatMap(ConflictPolicy.init(rawValue:))
        age = given("age").flatMap(Age.init(rawValue:))
        page = max(1, min(1_000_000, given("page").flatMap { Int($0) } ?? 1))
        stationsByLag = given("sort") == "lag"
    }

    var isEmpty: Bool { collection == nil && station == nil && policy == nil && age == nil }

    /// Whether a conflict is in the filter, `now` in ms since 1970.
    func holds(_ c: ConflictReport, now: UInt64) -> Bool {
        if let collection, !c.collection.hasSameBytes(as: collection) { return false }
        if let station, !c.origins.contains(where: { $0.hasSameBytes(as: station) }) { return false }
        if let policy, c.policy != policy { return false }
        if let age {
            let days = Double(now &- min(now, c.since.wall)) / 86_400_000
            switch age {
            case .day: if days > 1 { return false }
            case .week: if days > 7 { return false }
            case .older: if days <= 7 { return false }
            }
        }
        return true
    }

    /// The query that gives this filter (and `page`), for links.
    func query(page: Int? = nil, stationsByLag: Bool? = nil) -> String {
        var parts: [String] = []
        func add(_ key: String, _ value: String?) {
            guard let value else { return }
            parts.append(key + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        add("collection", collection)
        add("station", station)
        add("policy", policy?.rawValue)
        add("age", age?.rawValue)
        if let page = page ?? (self.page > 1 ? self.page : nil), page > 1 { add("page", String(page)) }
        if stationsByLag ?? self.stationsByLag { add("sort", "lag") }
        return parts.isEmpty ? "/ui" : "/ui?" + parts.joined(separator: "&")
    }
}
