import StationCore

/// Comma-separated values as spreadsheets save them (RFC 4180): a header row of field names, then
/// one record per row; a cell in double quotes may hold commas, line breaks and `""` for a quote.
/// Rows end in LF or CRLF. Each cell is read by its field's type (``value(of:for:)``).
public struct CSVReader {
    /// The cells of rows fed line by line; a quoted cell may run over several lines.
    public struct RowParser {
        private var cells: [String] = []
        private var cell: [UInt8] = []
        private var quoted = false
        private var quoteSeen = false
        /// After a closing quote: only a comma or the end of the row may follow.
        private var closed = false
        /// The line the row being read began on.
        public private(set) var firstLine = 0

        public init() {}

        /// Whether a quoted cell is still open (the row goes on on the next line).
        public var isOpen: Bool { quoted }

        /// Feeds one line (without its LF); returns the row's cells once it is complete. A CR
        /// that ends the line ends the row with it (CRLF); inside a quoted cell it is the cell's.
        public mutating func feed(_ line: [UInt8], number: Int) throws(CommandFailure) -> [String]? {
            if quoted { cell.append(10) } else { firstLine = number }
            let last = line.count - 1
            for (i, b) in line.enumerated() {
                if quoted {
                    if quoteSeen {
                        quoteSeen = false
                        if b == UInt8(ascii: "\"") {
                            cell.append(b)
                            continue
                        }
                        quoted = false  // that was the closing quote: this byte follows the cell
                        closed = true
                    } else {
                        if b == UInt8(ascii: "\"") { quoteSeen = true } else { cell.append(b) }
                        continue
                    }
                }
                if b == 13, i == last { continue }  // the row's CRLF
                if closed, b != UInt8(ascii: ",") {
                    throw CommandFailure(
                        "line \(number): text after a closing quote; quote the whole cell and double a quote inside it (\"\"); nothing was imported")
                }
                switch b {
                case UInt8(ascii: ","):
                    endCell()
                case UInt8(ascii: "\""):
                    guard cell.isEmpty else {
                        throw CommandFailure(
                            "line \(number): a quote inside an unquoted cell; quote the whole cell and double the quote (\"\"); nothing was imported")
                    }
                    quoted = true
                default:
                    cell.append(b)
                }
            }
            if quoted, quoteSeen {  // the closing quote ended the line
                quoted = false
                quoteSeen = false
            }
            if quoted { return nil }
            endCell()
            defer { cells.removeAll(keepingCapacity: true) }
            return cells
        }

        private mutating func endCell() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
            closed = false
        }
    }

    /// A cell's value for a field: an integer or counter field reads the cell as an integer, a
    /// boolean field `true`/`false`/`yes`/`no`/`1`/`0`, every other typed field as the string; an
    /// untyped one reads an integer or `true`/`false` as such, anything else as a string. An empty
    /// cell is nil (the field is not given). A cell that does not read as its type is given as
    /// the string, so that the put's check refuses it with the field's name.
    public static func value(of cell: String, for declaration: FieldDeclaration?) -> JSONValue? {
        guard !cell.isEmpty else { return nil }
        let trimmed = String(cell.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        let type = declaration?.policy == .counter ? .integer : declaration?.type
        switch type {
        case .integer?:
            return Int64(trimmed).map(JSONValue.int) ?? .string(cell)
        case .boolean?:
            switch trimmed.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: return .string(cell)
            }
        case nil:
            if let n = Int64(trimmed), String(n) == trimmed { return .int(n) }
            if trimmed == "true" { return true }
            if trimmed == "false" { return false }
            return .string(cell)
        default:
            return .string(cell)
        }
    }
}
