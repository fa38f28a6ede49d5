/// Rows as an aligned text table: a header, a rule, then the rows; columns in `rightAligned`
/// are padded on the left (numbers), the rest on the right. No trailing blanks, no final newline.
public func renderTable(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
    var widths = header.map(\.count)
    for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
    func line(_ cells: [String]) -> String {
        var text = cells.enumerated().map { c, cell in
            let pad = String(repeating: " ", count: widths[c] - cell.count)
            return rightAligned.contains(c) ? pad + cell : cell + pad
        }.joined(separator: "  ")
        while text.last == " " { text.removeLast() }
        return text
    }
    return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
        .joined(separator: "\n")
}

/// A CSV field, quoted (RFC 4180) only when it holds a comma, quote or line break.
public func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
