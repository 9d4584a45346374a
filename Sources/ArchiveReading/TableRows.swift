import ArchiveFormat
import CanonicalJSON

/// An encoding name from an archive that this reader does not know.
struct UnknownEncoding: Error, CustomStringConvertible {
    let table: String
    let column: String
    let encoding: String
    var description: String { "column \(column.debugDescription) of \(table) declares encoding \(encoding.debugDescription), which this reader does not know" }
}

extension TableDefinitions.Table {
    /// The columns as the row decoder takes them; an unknown encoding is an error, never a
    /// guess.
    package func columnSpecs() throws -> [ColumnSpec] {
        try columns.map { column in
            guard let encoding = ColumnEncoding(manifestName: column.encoding) else {
                throw UnknownEncoding(table: qualifiedName, column: column.name, encoding: column.encoding)
            }
            return ColumnSpec(name: column.name, encoding: encoding)
        }
    }

    package func rowDecoder() throws -> RowDecoder { RowDecoder(columns: try columnSpecs()) }
}
