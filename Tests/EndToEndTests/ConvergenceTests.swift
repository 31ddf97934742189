import Foundation
import Testing

/// Three stations and a hub, each a real process, converging through `station sync`.
@Suite("Convergence through the hub")
struct ConvergenceTests {
    static let stations = ["hotline", "civil-affairs", "charity"]

    @Test("A write made offline at one station reaches every other station through the hub")
    func offlineWriteReachesEveryStation() async throws {
        try await withCluster(Self.stations, startHub: false) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"], charity = cluster["charity"]
            // Offline: no hub is running yet; the write is only local.
            let call: [String: Any] = [
                "callerName": "Wang Fang", "callerPhone": "555-0142", "category": "housing",
                "summary": "leaking roof, needs the housing station", "status": "open",
            ]
            let written = try await hotline.put("hotline_calls", "call-0001", call)
            #expect(written.nodeClock == #"{"hotline":1}"#)
            #expect(try await civil.find("hotline_calls", "call-0001") == nil)

            try await cluster.hub.start()
            let pushed = try await hotline.sync()
            #expect(pushed.peer == "hub")
            #expect(pushed.pushed == 1)
            #expect(pushed.pulled == 0)
            #expect(pushed.startedOver == true)

            for station in [civil, charity] {
                let summary = try await station.sync()
                #expect(summary.pushed == 0, "\(station.name): \(summary)")
                #expect(summary.pulled == 1, "\(station.name): \(summary)")
                #expect(summary.created == 1, "\(station.name): \(summary)")
                #expect(summary.applied == 0 && summary.merged == 0 && summary.unchanged == 0, "\(station.name): \(summary)")
                #expect(summary.recordsWithConflicts == 0, "\(station.name): \(summary)")
            }
            // The writer pulls nothing back: its own write is not echoed.
            let again = try await hotline.sync()
            #expect(again.pushed == 0 && again.pulled == 0, "\(again)")

            for node in [hotline, civil, charity, cluster.hubDB] {
                let record = try await node.get("hotline_calls", "call-0001")
                #expect(JSON.canonical(record.fields) == JSON.canonical(call), "\(node.name): \(record)")
                #expect(record.nodeClock == #"{"hotline":1}"#, "\(node.name): \(record)")
                #expect(record.deleted == false && record.conflicts.isEmpty, "\(node.name): \(record)")
            }
        }
    }

    @Test("Concurrent edits of different fields merge without conflict")
    func differentFieldsMergeWithoutConflict() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"], charity = cluster["charity"]
            try await civil.put(
                "residents", "res-0007", ["fullName": "Zhao Min", "phone": "555-0100", "address": "12 Elm Lane", "neighbourhood": "East"])
            try await civil.sync()
            try await hotline.sync()

            // Offline at both: the hotline takes a new phone number, civil affairs a new address.
            try await hotline.put("residents", "res-0007", ["phone": "555-0199"])
            try await civil.put("residents", "res-0007", ["address": "3 Harbour Road", "notes": "moved in March"])

            try await hotline.sync()
            let civilSync = try await civil.sync()
            // The hub joined both versions; civil affairs takes the join, which covers its own.
            #expect(civilSync.pushed == 1 && civilSync.pulled == 1 && civilSync.applied == 1, "\(civilSync)")
            #expect(civilSync.recordsWithConflicts == 0, "\(civilSync)")
            try await hotline.sync()
            try await charity.sync()

            var views: Set<String> = []
            for node in [hotline, civil, charity, cluster.hubDB] {
                let record = try await node.get("residents", "res-0007")
                #expect(record["phone"] as? String == "555-0199", "\(node.name): \(record)")
                #expect(record["address"] as? String == "3 Harbour Road", "\(node.name): \(record)")
                #expect(record["fullName"] as? String == "Zhao Min", "\(node.name): \(record)")
                #expect(record["notes"] as? String == "moved in March", "\(node.name): \(record)")
                #expect(record.conflicts.isEmpty, "\(node.name): \(record)")
                #expect(record.conflicted == false, "\(node.name): \(record)")
                views.insert(record.replicatedView)
            }
            #expect(views.count == 1, "the nodes disagree: \(views)")
        }
    }

    @Test("A concurrent edit of the same field shows the same value and the same conflict id on every node, the hub included")
    func sameFieldConflictIsTheSameEverywhere() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"], charity = cluster["charity"]
            try await civil.put("mediation_cases", "med-0031", ["partyA": "Liu", "partyB": "Chen", "status": "open", "notes": "noise at night"])
            try await civil.sync()
            try await hotline.sync()

            // Offline at both: `status` is a manual field, `notes` last-writer-wins.
            try await civil.put("mediation_cases", "med-0031", ["status": "in_mediation", "notes": "first session booked"])
            try await hotline.put("mediation_cases", "med-0031", ["status": "referred", "notes": "caller asks for the justice station"])

            try await civil.sync()
            let hotlineSync = try await hotline.sync()
            #expect(hotlineSync.pushed == 1 && hotlineSync.applied == 1 && hotlineSync.recordsWithConflicts == 1, "\(hotlineSync)")
            try await civil.sync()
            try await charity.sync()

            var views: Set<String> = []
            var ids: Set<[String]> = []
            var statuses: Set<String> = []
            for node in [hotline, civil, charity, cluster.hubDB] {
                let record = try await node.get("mediation_cases", "med-0031")
                views.insert(record.replicatedView)
                ids.insert(record.conflictIDs)
                statuses.insert(record["status"] as? String ?? "?")
                #expect(record.conflicted == true, "\(node.name): a manual conflict waits for a person: \(record)")
                let status = try #require(record.conflict(on: "status"), "\(node.name): no conflict on status: \(record)")
                #expect(jsonBool(status["automatic"]) == false, "\(node.name): \(status)")
                let values = Set((status["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String })
                #expect(values == ["in_mediation", "referred"], "\(node.name): \(status)")
                let notes = try #require(record.conflict(on: "notes"), "\(node.name): no conflict on notes: \(record)")
                #expect(jsonBool(notes["automatic"]) == true, "\(node.name): \(notes)")
                #expect(record.conflictIDs.count == 2, "\(node.name): \(record)")
            }
            #expect(statuses.count == 1 && statuses.isSubset(of: ["in_mediation", "referred"]), "shown status differs: \(statuses)")
            #expect(ids.count == 1, "conflict ids differ between nodes: \(ids)")
            #expect(views.count == 1, "the nodes disagree: \(views)")
        }
    }

    @Test("Counters add up: 10, then +5 and -2 at two stations while offline, is 13 everywhere")
    func countersAddUp() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"], charity = cluster["charity"]
            try await charity.put("charity_stock", "stk-0001", ["itemName": "Rice 5kg", "unit": "bag", "quantity": 10])
            try await charity.sync()
            try await hotline.sync()

            // No sync in between: each desk only sees its own change.
            #expect(jsonInt(try await charity.add("charity_stock", "stk-0001", "quantity", 5)["quantity"]) == 15)
            #expect(jsonInt(try await hotline.add("charity_stock", "stk-0001", "quantity", -2)["quantity"]) == 8)

            try await charity.sync()
            try await hotline.sync()
            try await charity.sync()
            try await civil.sync()

            for node in [hotline, civil, charity, cluster.hubDB] {
                let record = try await node.get("charity_stock", "stk-0001")
                #expect(jsonInt(record["quantity"]) == 13, "\(node.name): \(record)")
                #expect(record["itemName"] as? String == "Rice 5kg", "\(node.name): \(record)")
                #expect(record.conflicts.isEmpty, "\(node.name): counters do not conflict: \(record)")
            }
        }
    }

    @Test(
        "Delete vs update: the update wins in an update-wins collection, the delete in volunteer_shifts (delete-wins); both keep a _deleted conflict")
    func deleteVersusUpdate() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await civil.put("residents", "res-0042", ["fullName": "Sun Li", "phone": "555-0110"])
            try await hotline.put("volunteer_shifts", "shift-0009", ["volunteerId": "vol-0003", "post": "hotline", "shiftDate": "2025-03-01"])
            try await civil.sync()
            try await hotline.sync()
            try await civil.sync()

            // Offline: one side deletes, the other updates, in each collection.
            try await hotline.delete("residents", "res-0042")
            try await civil.put("residents", "res-0042", ["phone": "555-0111"])
            try await hotline.put("volunteer_shifts", "shift-0009", ["post": "charity supermarket"])
            try await civil.delete("volunteer_shifts", "shift-0009")

            try await hotline.sync()
            try await civil.sync()
            try await hotline.sync()

            var residentViews: Set<String> = []
            var shiftViews: Set<String> = []
            for node in [hotline, civil, cluster.hubDB] {
                let resident = try await node.get("residents", "res-0042")
                #expect(resident.deleted == false, "\(node.name): the update should win in residents: \(resident)")
                #expect(resident["phone"] as? String == "555-0111", "\(node.name): \(resident)")
                #expect(resident.conflict(on: "_deleted") != nil, "\(node.name): no _deleted conflict: \(resident)")
                residentViews.insert(resident.replicatedView)

                let shift = try await node.get("volunteer_shifts", "shift-0009")
                #expect(shift.deleted == true, "\(node.name): the delete should win in volunteer_shifts: \(shift)")
                #expect(shift.conflict(on: "_deleted") != nil, "\(node.name): no _deleted conflict: \(shift)")
                shiftViews.insert(shift.replicatedView)
            }
            #expect(residentViews.count == 1, "the nodes disagree on residents/res-0042: \(residentViews)")
            #expect(shiftViews.count == 1, "the nodes disagree on volunteer_shifts/shift-0009: \(shiftViews)")

            let listed = try JSON.array(try await civil.ok(["list", "volunteer_shifts", "--json"]).stdout)
            #expect(listed.isEmpty, "a deleted shift is not listed: \(listed)")
        }
    }
}
